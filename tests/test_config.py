"""Recipes: YAML loading, dotted overrides, clear errors for unknown keys."""

import pytest
import yaml

from waveform_mir.config import RecipeError, load_recipe


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
