"""A trained model's track embeddings as the baseline's features: the transfer-learning probe.

The probe is only worth its table row if each vector is the one ``embed`` gives for that
track, in the split's order beside its label, and if a retrained model is embedded afresh.
"""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import torch
import yaml

pytest.importorskip("librosa", reason="the baseline package needs the 'baseline' extra")

from inference_helpers import GENRES, SAMPLE_RATE, tiny_recipe  # noqa: E402

from waveform_mir.ablate import AblationGrid, run_ablation  # noqa: E402
from waveform_mir.baseline.embeddings import embedding_cache_path, embedding_features  # noqa: E402
from waveform_mir.cli import COMMANDS, build_parser  # noqa: E402
from waveform_mir.data import prepare_dataset, select_task  # noqa: E402
from waveform_mir.data.loader import WaveformColumn  # noqa: E402
from waveform_mir.model import WaveformClassifier  # noqa: E402
from waveform_mir.predict import Predictor  # noqa: E402


@pytest.fixture
def recipe(run_dir):
    """The data the session's tiny genre model was trained on (its test split unseen)."""
    return tiny_recipe(run_dir.parent)


def test_each_track_is_described_by_its_own_embed_vector(recipe, run_dir, tmp_path, monkeypatch):
    prepared = select_task(prepare_dataset(recipe.data, progress=False), recipe.data)
    splits = embedding_features(prepared.dataset, recipe.data, run_dir, tmp_path, progress=False)
    predictor = Predictor.from_pretrained(run_dir)
    test = prepared.dataset["test"]
    waveforms = WaveformColumn(test)
    one_by_one = np.stack([predictor.score_waveform(waveforms[row]).embedding
                           for row in range(len(test))])
    np.testing.assert_allclose(splits["test"].features, one_by_one, rtol=1e-4, atol=1e-5)
    assert splits["test"].labels.tolist() == test["label"]
    assert splits["test"].track_index.tolist() == list(range(len(test)))

    def no_embedding(*args, **kwargs):
        raise AssertionError("tracks were embedded again instead of read from the cache")

    monkeypatch.setattr("waveform_mir.baseline.embeddings.embed_split", no_embedding)
    again = embedding_features(prepared.dataset, recipe.data, run_dir, tmp_path, progress=False)
    np.testing.assert_array_equal(again["train"].features, splits["train"].features)

    # Another task on the same audio reads the same vectors, with its own labels.
    relabelled = prepared.dataset.map(lambda row: {"label": len(GENRES) - 1 - row["label"]},
                                      keep_in_memory=True)
    other = embedding_features(relabelled, recipe.data, run_dir, tmp_path, progress=False)
    np.testing.assert_array_equal(other["test"].features, splits["test"].features)
    assert other["test"].labels.tolist() == relabelled["test"]["label"] != test["label"]


def test_a_retrained_model_is_embedded_afresh(run_dir, tmp_path, recipe):
    model = WaveformClassifier.from_pretrained(run_dir / "best")
    before = embedding_cache_path(tmp_path, recipe.data, Predictor(model))
    with torch.no_grad():
        next(model.backbone.parameters()).add_(1e-3)
    assert embedding_cache_path(tmp_path, recipe.data, Predictor(model)) != before


def test_a_model_of_another_sample_rate_is_refused(run_dir, recipe):
    recipe.data.sample_rate = 2 * SAMPLE_RATE
    with pytest.raises(ValueError, match=f"trained at {SAMPLE_RATE} Hz"):
        embedding_features(datasets.DatasetDict(), recipe.data, run_dir, run_dir.parent)


def test_a_probe_on_a_genre_models_embeddings_tells_the_genres_apart(recipe, run_dir,
                                                                      tmp_path):
    recipe.save(tmp_path / "recipe.yaml")
    parser = build_parser({"baseline": COMMANDS["baseline"]})
    args = parser.parse_args(["baseline", str(tmp_path / "recipe.yaml"), "--classifiers", "lr",
                              "--embeddings-from", str(run_dir), "--out", str(tmp_path / "probe"),
                              "--no-progress"])
    assert args.func(args) == 0
    results = json.loads((tmp_path / "probe" / "baseline_results.json").read_text())
    test = results["classifiers"]["lr"]["test"]
    assert test["accuracy"] >= 3 / len(GENRES), test["accuracy"]  # chance is 1 / 4
    model = WaveformClassifier.from_pretrained(run_dir / "best")
    assert results["num_features"] == model.backbone.embedding_dim
    assert results["embeddings_from"] == str(run_dir) and "features" not in results
    assert results["chunks"] == results["tracks"]  # one vector per track


def test_a_grid_restricted_to_a_probe_scores_it_beside_the_baseline_untrained(
        recipe, run_dir, tmp_path):
    recipe.save(tmp_path / "recipe.yaml")
    (tmp_path / "grid.yaml").write_text(yaml.safe_dump({
        "name": "probe-only", "recipe": "recipe.yaml", "seeds": [0], "baselines": ["lr"],
        "variants": {"mel": {"train.max_steps": 10_000}},  # would take minutes if trained
        "probes": {"tiny": [str(run_dir), str(run_dir)]}}))
    grid = AblationGrid.load(tmp_path / "grid.yaml").only(["tiny"])
    assert grid.cells() == []
    rows = run_ablation(grid, tmp_path / "out")
    assert [(row["variant"], row["seed"]) for row in rows] == [
        ("baseline:lr", 0), ("probe:tiny:lr", 0), ("probe:tiny:lr", 1)]
    assert rows[1]["accuracy"] == rows[2]["accuracy"] >= 3 / len(GENRES)  # one model twice
    assert not (tmp_path / "out" / "cells").exists()
    summary = json.loads((tmp_path / "out" / "results.json").read_text())["summary"]
    assert {row["variant"]: row["seeds"] for row in summary} == {"baseline:lr": 1,
                                                                 "probe:tiny:lr": 2}
