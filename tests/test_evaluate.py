"""``waveform-mir evaluate`` on a really trained model: the same scores as training reported,
the files it promises, and calibration of a checkpoint after the fact."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from waveform_mir.cli import main
from waveform_mir.model import WaveformClassifier


def test_evaluate_reproduces_the_training_run_test_scores(run_dir, tmp_path, capsys):
    assert main(["evaluate", str(run_dir), "--split", "test", "--out", str(tmp_path)]) == 0
    scores = json.loads((tmp_path / "metrics_test.json").read_text())
    trained = json.loads((run_dir / "metrics_test.json").read_text())
    for key in ("accuracy", "macro_f1", "log_loss", "num_examples"):
        assert scores[key] == pytest.approx(trained[key], abs=1e-6), key
    assert (tmp_path / "confusion_test.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "precision" in printed  # the per-class table
    assert re.search(r"accuracy \d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", printed)


def test_test_scores_carry_intervals_drawn_from_the_saved_tracks(run_dir, tmp_path):
    """Training and ``evaluate`` write each headline score's 95 % interval over the test
    tracks, and the per-track outputs it came from: one row per track, the scores
    recomputed from them equal to those reported."""
    from waveform_mir.evaluation.track_outputs import TrackOutputs
    from waveform_mir.evaluation.uncertainty import Bootstrap, row_intervals

    assert main(["evaluate", str(run_dir), "--out", str(tmp_path), "--resamples", "200"]) == 0
    for folder, resamples in ((run_dir, 1000), (tmp_path, 200)):
        scores = json.loads((folder / "metrics_test.json").read_text())
        assert scores["bootstrap"]["tracks"] == scores["num_examples"] == 16
        assert scores["bootstrap"]["resamples"] == resamples
        tracks = TrackOutputs.load(folder / "test_tracks.npz")
        assert len(tracks.track_ids) == 16 and len(set(tracks.track_ids)) == 16
        recomputed = tracks.scores()
        for metric in ("accuracy", "macro_f1", "log_loss"):
            low, high = scores["intervals"][metric]
            assert low <= scores[metric] <= high, metric
            assert recomputed[metric] == scores[metric], metric
        assert scores["intervals"] == {
            metric: list(bounds)
            for metric, bounds in row_intervals([tracks], Bootstrap(resamples)).items()}


def test_evaluate_can_calibrate_a_checkpoint_on_another_split(run_dir, tmp_path, capsys):
    model_dir = tmp_path / "model"
    shutil.copytree(run_dir / "best", model_dir)
    model = WaveformClassifier.from_pretrained(model_dir)
    model.temperature.fill_(1.0)
    model.save_pretrained(model_dir)  # as if it had been trained with train.calibrate off

    assert main(["evaluate", str(model_dir), "--calibrate", "validation",
                 "--out", str(tmp_path / "scores")]) == 0
    assert "fitted on validation" in capsys.readouterr().out
    assert float(WaveformClassifier.from_pretrained(model_dir).temperature) != 1.0
    assert (tmp_path / "scores" / "metrics_test.json").is_file()

    assert main(["evaluate", str(model_dir), "--split", "test", "--calibrate", "test"]) == 2
    assert "flatter" in capsys.readouterr().err


# --- several models as one (seed averaging) ---------------------------------------------


def _other_member(run_dir, folder, noise: float = 0.5, **config):
    """A second model: the trained one with its head perturbed (another "seed"), and
    ``config`` values changed in its ``config.json``."""
    import torch

    model = WaveformClassifier.from_pretrained(run_dir / "best")
    generator = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for parameter in model.head.parameters():
            parameter.add_(noise * torch.randn(parameter.shape, generator=generator))
    model.save_pretrained(folder)
    saved = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**saved, **config}))
    shutil.copy(run_dir / "best" / "recipe.yaml", folder / "recipe.yaml")
    return folder


def test_an_ensemble_scores_the_mean_of_its_members(run_dir, tmp_path, capsys):
    other = _other_member(run_dir, tmp_path / "other")
    out = tmp_path / "ensemble"
    assert main(["evaluate", str(run_dir), str(other), "--out", str(out)]) == 0
    scores = json.loads((out / "metrics_test.json").read_text())
    alone = json.loads((run_dir / "metrics_test.json").read_text())
    first, second = scores["members"]
    assert first["log_loss"] == pytest.approx(alone["log_loss"], abs=1e-6)
    assert second["log_loss"] != pytest.approx(first["log_loss"])
    # -log is convex: the loss of the mean probability is at most the mean of the losses
    assert scores["log_loss"] <= (first["log_loss"] + second["log_loss"]) / 2 + 1e-9
    printed = capsys.readouterr().out
    assert "members' mean" in printed and "paired on the same tracks" in printed
    for row in (scores, first, second, scores["members_mean"]):
        for metric in ("accuracy", "macro_f1", "log_loss"):
            low, high = row["intervals"][metric]
            assert low <= row[metric] <= high, metric
    versus = {c["metric"]: c for c in scores["versus_members"]}
    assert versus["log_loss"]["difference"] == pytest.approx(
        scores["log_loss"] - scores["members_mean"]["log_loss"])
    assert all(c["verdict"] in ("better", "worse", "not distinguishable")
               for c in versus.values())
    assert (out / "test_tracks.npz").is_file()


def test_the_average_and_its_temperature():
    from waveform_mir.evaluation.ensemble import EnsemblePredictions
    from waveform_mir.evaluation.metrics import log_loss
    from waveform_mir.evaluation.tracks import TrackPredictions

    labels = np.array([0, 1, 2, 0])
    confident = np.eye(3)[labels] * 0.6 + 0.4 / 3  # right, but timid: 0.73 on the truth
    wrong_once = confident.copy()
    wrong_once[3] = [0.2, 0.6, 0.2]
    members = EnsemblePredictions([TrackPredictions(confident, labels, 8),
                                   TrackPredictions(wrong_once, labels, 8)])
    assert np.allclose(members.mean().probabilities, (confident + wrong_once) / 2)
    sharpened = members.mean(0.5).probabilities
    assert np.allclose(sharpened.sum(axis=1), 1)
    assert (sharpened.argmax(axis=1) == members.mean().probabilities.argmax(axis=1)).all()
    temperature = members.fit_temperature()
    assert temperature < 1  # every track is ranked right: sharpening lowers the loss
    assert log_loss(members.mean(temperature).probabilities, labels) < log_loss(
        members.mean().probabilities, labels)


def test_members_that_cut_tracks_differently_are_refused(run_dir, tmp_path, capsys):
    other = _other_member(run_dir, tmp_path / "other", hop_seconds=0.123)
    assert main(["evaluate", str(run_dir), str(other)]) == 2
    assert "hop_seconds" in capsys.readouterr().err


def test_an_ensemble_temperature_is_fitted_on_validation(run_dir, tmp_path, capsys):
    other = _other_member(run_dir, tmp_path / "other")
    out = tmp_path / "ensemble"
    assert main(["evaluate", str(run_dir), str(other), "--calibrate", "validation",
                 "--out", str(out)]) == 0
    scores = json.loads((out / "metrics_test.json").read_text())
    assert scores["temperature"] != 1.0 and "ensemble, temperature" in capsys.readouterr().out
    assert main(["evaluate", str(run_dir), str(other), "--calibrate", "test"]) == 2
