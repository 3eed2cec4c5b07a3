"""Temperature scaling: the fit recovers a known miscalibration and travels with the model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from waveform_mir.evaluation.calibration import fit_temperature, track_log_loss
from waveform_mir.evaluation.tracks import ChunkOutputs
from waveform_mir.model import WaveformClassifier

CHUNKS_PER_TRACK = 3


def outputs_scaled_by(scale: float, tracks: int = 3000, classes: int = 5) -> ChunkOutputs:
    """Tracks whose labels are drawn from softmax(logits): those logits are calibrated by
    construction, and the returned ones are them times ``scale`` (every chunk of a track
    alike), so the temperature that undoes the scaling is ``scale`` itself."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0.0, 2.0, (tracks, classes))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(classes, p=p) for p in probs])
    return ChunkOutputs(
        logits=np.repeat(logits * scale, CHUNKS_PER_TRACK, axis=0).astype(np.float32),
        labels=np.repeat(labels, CHUNKS_PER_TRACK),
        track_index=np.repeat(np.arange(tracks), CHUNKS_PER_TRACK))


@pytest.mark.parametrize("scale", [0.4, 2.5])
def test_fit_undoes_under_and_over_confidence(scale):
    outputs = outputs_scaled_by(scale)
    temperature = fit_temperature(outputs)
    assert temperature == pytest.approx(scale, rel=0.12)
    assert track_log_loss(outputs, temperature) < track_log_loss(outputs, 1.0) - 0.02
    ranked = outputs.track_predictions(temperature).probabilities.argmax(axis=1)
    assert (ranked == outputs.track_predictions(1.0).probabilities.argmax(axis=1)).all()


def test_calibrated_logits_need_no_temperature():
    assert fit_temperature(outputs_scaled_by(1.0)) == pytest.approx(1.0, rel=0.12)


def _model() -> WaveformClassifier:
    return WaveformClassifier(frontend={"name": "mel", "n_mels": 16},
                              backbone={"name": "short_chunk_cnn", "width": 4},
                              sample_rate=8000, id2label={0: "a", 1: "b", 2: "c"}).eval()


def test_temperature_divides_the_logits_and_is_saved(tmp_path):
    model = _model()
    clip = torch.randn(2, 8000)
    with torch.no_grad():
        plain = model(clip)
        model.temperature.fill_(2.0)
        torch.testing.assert_close(model(clip), plain / 2.0)
    model.save_pretrained(tmp_path / "calibrated")
    assert float(WaveformClassifier.from_pretrained(tmp_path / "calibrated").temperature) == 2.0

    # a checkpoint from before calibration existed loads with temperature 1
    weights = tmp_path / "calibrated" / "model.safetensors"
    save_file({k: v for k, v in load_file(weights).items() if k != "temperature"}, weights)
    assert float(WaveformClassifier.from_pretrained(tmp_path / "calibrated").temperature) == 1.0
