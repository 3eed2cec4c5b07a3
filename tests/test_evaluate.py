"""``waveform-mir evaluate`` on a really trained model: the same scores as training reported,
the files it promises, and calibration of a checkpoint after the fact."""

from __future__ import annotations

import json
import shutil

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
    assert "precision" in capsys.readouterr().out  # the per-class table


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
