"""The hand-made feature baseline: feature layout, separability, a full synthetic run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("librosa", reason="the feature baseline needs the 'baseline' extra")

from waveform_mir.baseline import run_baseline  # noqa: E402
from waveform_mir.baseline.classifiers import make_pipeline, predict_probabilities, resolve
from waveform_mir.baseline.features import (
    chunk_bounds,
    chunk_features,
    clip_features,
    feature_dim,
    feature_names,
)
from waveform_mir.cli import COMMANDS, build_parser
from waveform_mir.config import recipe_from_dict
from waveform_mir.evaluation.metrics import classification_scores
from waveform_mir.evaluation.track_outputs import TrackOutputs

RATE = 16000


def harmonic(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A decaying harmonic note at a random pitch: sparse spectrum, tonal."""
    t = np.arange(int(seconds * RATE)) / RATE
    f0 = rng.uniform(150, 600)
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 6))
    return (0.3 * wave * np.exp(-t * rng.uniform(0.5, 2))).astype(np.float32)


def noise(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """White noise at a random level: flat spectrum, no pitch."""
    return (rng.uniform(0.05, 0.3) * rng.standard_normal(int(seconds * RATE))).astype(np.float32)


@pytest.mark.parametrize("make", [harmonic, noise])
@pytest.mark.parametrize("seconds", [0.05, 1.0, 2.5])
def test_chunk_features_have_the_documented_shape_and_are_finite(make, seconds):
    vector = chunk_features(make(seconds, np.random.default_rng(0)), RATE)
    assert vector.shape == (feature_dim(),) == (518,)
    assert vector.dtype == np.float32 and np.isfinite(vector).all()
    assert len(feature_names()) == feature_dim()


def test_silence_gives_a_finite_vector():
    assert np.isfinite(chunk_features(np.zeros(RATE, np.float32), RATE)).all()


@pytest.mark.parametrize(("samples", "expected"), [
    (100, [(0, 100)]),  # shorter than a chunk: the whole clip
    (250, [(0, 250)]),
    (290, [(0, 250)]),  # the tail is dropped
    (760, [(0, 250), (250, 500), (500, 750)]),
])
def test_chunk_bounds(samples, expected):
    assert chunk_bounds(samples, 250) == expected


def test_clip_features_has_one_row_per_chunk():
    clip = noise(7.4, np.random.default_rng(1))
    assert clip_features(clip, RATE, 2.5).shape == (2, feature_dim())


def test_features_separate_tones_from_noise_on_held_out_clips():
    rng = np.random.default_rng(0)
    clips = [make(1.0, rng) for make in (harmonic, noise) for _ in range(20)]
    features = np.stack([chunk_features(clip, RATE) for clip in clips])
    labels = np.repeat([0, 1], 20)
    train = np.r_[0:14, 20:34]
    held_out = np.r_[14:20, 34:40]
    model = make_pipeline("lr", {"C": 1.0}).fit(features[train], labels[train])
    assert (model.predict(features[held_out]) == labels[held_out]).all()


def test_probabilities_have_a_column_for_every_class():
    rng = np.random.default_rng(0)
    features, labels = rng.standard_normal((12, 4)), np.repeat([0, 2], 6)
    model = make_pipeline("lr", {"C": 1.0}).fit(features, labels)
    probs = predict_probabilities(model, features, num_classes=3)
    assert probs.shape == (12, 3)
    assert np.allclose(probs[:, 1], 0) and np.allclose(probs.sum(axis=1), 1)


def test_unknown_classifier_is_refused_by_name():
    with pytest.raises(ValueError, match="'forest'"):
        resolve(["lr", "forest"])


@pytest.fixture
def synthetic_recipe(tmp_path: Path):
    return recipe_from_dict({
        "name": "tiny-synthetic",
        "data": {
            "source": "synthetic", "sample_rate": RATE, "cache_dir": str(tmp_path / "cache"),
            "options": {"num_per_class": {"train": 6, "validation": 3, "test": 3},
                        "seconds": 3.0, "seed": 3,
                        "genres": ["house", "metal", "jazz", "classical"]},
        },
        "train": {"output_dir": str(tmp_path / "run")},
    })


def test_baseline_end_to_end_on_synthetic_data(synthetic_recipe, tmp_path, monkeypatch):
    out = tmp_path / "baseline"
    results = run_baseline(synthetic_recipe, ["lr", "svm", "linsvm"], out, n_jobs=2,
                           progress=False)

    chance = 1 / 4
    best = results["classifiers"][results["best"]]["test"]
    assert best["accuracy"] >= 3 * chance
    assert results["tracks"] == {"train": 24, "validation": 12, "test": 12}
    reference_keys = set(classification_scores(np.eye(3), [0, 1, 2]))
    for row in results["classifiers"].values():
        assert set(row["test"]) == reference_keys | {"intervals", "bootstrap"}
        assert row["params"] in [setting["params"] for setting in row["grid"]]
        assert row["test"]["bootstrap"]["tracks"] == 12
        tracks = TrackOutputs.load(out / row["tracks_file"])  # what the intervals came from
        assert tracks.scores()["log_loss"] == row["test"]["log_loss"]
        for metric in ("accuracy", "macro_f1", "log_loss"):
            low, high = row["test"]["intervals"][metric]
            assert low <= row["test"][metric] <= high, metric
    assert json.loads((out / "baseline_results.json").read_text()) == results
    assert (out / "metrics_test.json").is_file() and (out / "confusion_test.png").is_file()

    # Second run through the CLI: features come from the cache, nothing is extracted again.
    def no_extraction(*args, **kwargs):
        raise AssertionError("features were extracted again instead of read from the cache")

    monkeypatch.setattr("waveform_mir.baseline.extract.extract_split", no_extraction)
    synthetic_recipe.save(tmp_path / "recipe.yaml")
    parser = build_parser({"baseline": COMMANDS["baseline"]})
    args = parser.parse_args(["baseline", str(tmp_path / "recipe.yaml"), "--classifiers", "lr",
                              "--out", str(tmp_path / "again"), "--no-progress"])
    assert args.func(args) == 0
    again = json.loads((tmp_path / "again" / "baseline_results.json").read_text())
    first, second = (dict(r["classifiers"]["lr"], fit_seconds=0) for r in (results, again))
    assert first == second


def test_baseline_tags_with_one_classifier_per_tag(tmp_path):
    """Multi-label data: one-vs-rest classifiers, scored and chosen as tags (PR-AUC)."""
    recipe = recipe_from_dict({
        "name": "tiny-tags",
        "data": {
            "source": "synthetic_tags", "task": "multi_label", "label_column": "tags",
            "sample_rate": RATE, "cache_dir": str(tmp_path / "cache"),
            "options": {"num_per_class": {"train": 6, "validation": 3, "test": 3},
                        "seconds": 3.0, "seed": 3},
        },
        "train": {"output_dir": str(tmp_path / "run")},
    })
    out = tmp_path / "baseline"
    results = run_baseline(recipe, ["lr"], out, n_jobs=2, progress=False)
    test = results["classifiers"]["lr"]["test"]
    prior = np.mean([row["positives"] / test["num_examples"] for row in test["per_tag"].values()])
    assert test["macro_roc_auc"] > 0.75 and test["macro_pr_auc"] > 1.5 * prior
    validation = results["classifiers"]["lr"]["validation"]
    assert set(validation) == {"macro_roc_auc", "macro_pr_auc", "macro_f1"}
    # yes/no decisions at thresholds fixed on validation, as a trained tagger makes them
    assert 0 < validation["macro_f1"] <= 1 and 0 < test["macro_f1"] <= 1
    thresholds = [row["threshold"] for row in test["per_tag"].values()]
    assert len(set(thresholds)) > 1 and all(0 < cut < 1 for cut in thresholds)
    for metric in ("macro_roc_auc", "macro_pr_auc", "macro_f1"):  # F1 at those thresholds
        low, high = test["intervals"][metric]
        assert low <= test[metric] <= high <= 1, metric
    assert (out / "tags_test.png").is_file()
