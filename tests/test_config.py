"""Recipes: YAML loading, dotted overrides, clear errors for unknown keys."""

from pathlib import Path

import pytest
import torch
import yaml

from waveform_mir.ablate import AblationGrid
from waveform_mir.config import RecipeError, load_recipe
from waveform_mir.data import available_sources
from waveform_mir.model import build_model

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def recipe_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump({
        "name": "t",
        "data": {"source": "synthetic", "sample_rate": 8000, "crop_seconds": 1.5},
        "model": {"frontend": {"name": "mel", "n_mels": 32}},
        "train": {"lr": 0.01, "max_steps": 10},
    }))
    return path


def test_load_and_override(recipe_file):
    recipe = load_recipe(recipe_file, ["train.lr=3e-4", "model.frontend.n_mels=64",
                                       "data.options.root=/tmp/x", "train.log_with=[]"])
    assert recipe.train.lr == pytest.approx(3e-4)
    assert recipe.train.max_steps == 10
    assert recipe.model.frontend == {"name": "mel", "n_mels": 64}
    assert recipe.data.options == {"root": "/tmp/x"}
    assert recipe.train.log_with == []
    assert recipe.data.crop_samples == 12000
    assert recipe.data.eval_hop_samples == 12000


def test_saved_recipe_round_trips(recipe_file, tmp_path):
    recipe = load_recipe(recipe_file)
    recipe.save(tmp_path / "saved.yaml")
    assert load_recipe(tmp_path / "saved.yaml") == recipe


@pytest.mark.parametrize("override, message", [
    ("train.learning_rate=1", "unknown key"),
    ("optim.lr=1", "unknown recipe section"),
    ("train.lr", "section.key=value"),
    ("train.lr.x=1", "not a section"),
])
def test_bad_overrides_name_the_key(recipe_file, override, message):
    with pytest.raises(RecipeError, match=message):
        load_recipe(recipe_file, [override])


def test_missing_recipe_file(tmp_path):
    with pytest.raises(RecipeError, match="not found"):
        load_recipe(tmp_path / "nope.yaml")


def test_recipe_inherits_from_its_base(tmp_path, recipe_file):
    child = tmp_path / "family" / "child.yaml"
    child.parent.mkdir()
    child.write_text(yaml.safe_dump({
        "base": "../r.yaml", "name": "child",
        "model": {"frontend": {"name": "leaf"}}, "train": {"max_steps": 99}}))
    recipe = load_recipe(child)
    assert recipe.name == "child"
    assert recipe.model.frontend == {"name": "leaf"}  # a front-end's own kwargs do not leak
    assert recipe.train.max_steps == 99 and recipe.train.lr == pytest.approx(0.01)
    assert recipe.data.sample_rate == 8000


RECIPES = sorted(p for p in (REPO / "recipes").rglob("*.yaml") if p.parent.name != "ablations")
GRIDS = sorted((REPO / "recipes" / "ablations").glob("*.yaml"))


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(REPO / "recipes")))
def test_shipped_recipes_load_and_build(path):
    assert_builds(load_recipe(path))


@pytest.mark.parametrize("path", GRIDS, ids=lambda p: p.name)
def test_shipped_ablation_grids_build_every_variant(path, tmp_path):
    grid = AblationGrid.load(path)
    for variant in grid.variants:
        assert_builds(grid.cell_recipe(variant, grid.seeds[0], tmp_path, []))


def assert_builds(recipe):
    assert recipe.data.source in available_sources(), recipe.data.source  # no misspelt source
    model = build_model(recipe.model, sample_rate=recipe.data.sample_rate,
                        id2label={0: "a", 1: "b"}, chunk_seconds=recipe.data.crop_seconds)
    assert model.eval()(torch.zeros(1, recipe.data.crop_samples)).shape == (1, 2)
