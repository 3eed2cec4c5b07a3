"""Loudness: a track stored 12 or 24 dB quieter reaches the model, and gets its genres, as is.

Without normalisation a log-mel front-end turns a gain into a shift of every bin; the
quiet-against-loud comparisons below are what that wrong version fails.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf
from inference_helpers import CLIP_RATE, SAMPLE_RATE

from waveform_mir.config import DataConfig, ModelConfig
from waveform_mir.data import prepare_dataset
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.data.loudness import Loudness, integrated_lufs, rms_db
from waveform_mir.data.synthetic import render_clip
from waveform_mir.model import WaveformClassifier, build_model_for_data
from waveform_mir.predict import Predictor, predict_file
from waveform_mir.registry import RegistryError

LEVELS_DB = (0.0, -12.0, -24.0)


def _gain(db: float) -> float:
    return 10 ** (db / 20)


@pytest.mark.parametrize("method", ["lufs", "rms"])
def test_a_track_at_any_level_is_levelled_to_the_same_samples(method):
    track = render_clip("rock", seed=3, seconds=4.0, sample_rate=16000) * 0.5
    loudness = Loudness(method=method, target_db=-23.0)
    levelled = [loudness(track * _gain(db), 16000) for db in LEVELS_DB]
    for other in levelled[1:]:
        np.testing.assert_allclose(other, levelled[0], rtol=1e-4, atol=1e-6)
    meter = integrated_lufs if method == "lufs" else rms_db
    assert meter(levelled[0], 16000) == pytest.approx(-23.0, abs=0.05)


def test_a_high_crest_track_is_levelled_without_clipping():
    rng = np.random.default_rng(0)
    quiet_with_clicks = (rng.standard_normal(16000) * 1e-3).astype(np.float32)
    quiet_with_clicks[::4000] = 0.5  # -60 dB of noise with loud clicks: crest factor ~54 dB
    levelled = Loudness(method="rms", target_db=-14.0)(quiet_with_clicks, 16000)
    assert np.abs(levelled).max() == pytest.approx(1.0, rel=1e-6)
    assert rms_db(levelled, 16000) < -14.0  # the peak, not the target, set the gain


def test_silence_and_none_are_left_alone():
    silence = np.zeros(16000, np.float32)
    assert not Loudness()(silence, 16000).any()
    track = render_clip("jazz", seed=1, seconds=1.0, sample_rate=16000) * 0.01
    np.testing.assert_array_equal(Loudness(method="none")(track, 16000), track)
    assert Loudness.from_dict(None) == Loudness(method="none")  # checkpoints before the setting
    with pytest.raises(RegistryError, match="lufs"):
        Loudness(method="peak")


def test_the_cache_holds_a_quiet_and_a_loud_copy_as_the_same_waveform(tmp_path):
    track = render_clip("metal", seed=7, seconds=3.0, sample_rate=CLIP_RATE) * 0.8
    rows = []
    for db in LEVELS_DB:
        path = tmp_path / "audio" / f"metal{int(-db)}.flac"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, track * _gain(db), CLIP_RATE, subtype="PCM_24")
        rows.append({"path": f"audio/{path.name}", "label": "metal", "split": "test"})
    rows.append({"path": "audio/metal0.flac", "label": "metal", "split": "train"})
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = DataConfig(source="folder", options={"root": str(tmp_path)},
                        sample_rate=SAMPLE_RATE, cache_dir=str(tmp_path / "cache"))
    test = WaveformColumn(prepare_dataset(config, progress=False).dataset["test"])
    waves = [test[i] for i in range(3)]
    for other in waves[1:]:
        np.testing.assert_allclose(other, waves[0], atol=2e-4)
    assert integrated_lufs(waves[0], SAMPLE_RATE) == pytest.approx(-23.0, abs=0.1)


def test_predict_gives_the_same_genres_at_0_minus_12_and_minus_24_db(run_dir, tmp_path):
    predictor = Predictor.from_pretrained(run_dir)
    assert predictor.model.loudness.method == "lufs"  # the training recipe's default
    track = render_clip("metal", seed=11, seconds=4.0, sample_rate=CLIP_RATE) * 0.9
    files = []
    for db in LEVELS_DB:
        files.append(tmp_path / f"song{int(-db)}.mp3")
        sf.write(files[-1], track * _gain(db), CLIP_RATE)
    scores = [predictor.score_file(path) for path in files]
    assert len({s.top_genre for s in scores}) == 1
    for other in scores[1:]:
        for genre, probability in scores[0].probabilities.items():
            assert other.probabilities[genre] == pytest.approx(probability, abs=0.02)

    # The same model fed the files as decoded, unlevelled, is what the check must catch.
    predictor.model.loudness = Loudness(method="none")
    raw = [predictor.score_file(path).probabilities for path in files]
    assert max(abs(raw[0][g] - raw[2][g]) for g in raw[0]) > 0.02


def test_the_checkpoint_records_how_tracks_are_cut_and_levelled(tmp_path, run_dir):
    config = json.loads((run_dir / "best" / "config.json").read_text())
    assert config["loudness"] == {"method": "lufs", "target_db": -23.0}

    data = DataConfig(sample_rate=8000, crop_seconds=1.0, eval_hop_seconds=0.25,
                      loudness={"method": "rms", "target_db": -20.0})
    model = build_model_for_data(
        ModelConfig(frontend={"name": "mel", "n_mels": 32},
                    backbone={"name": "short_chunk_cnn", "width": 4}), data, {0: "a", 1: "b"})
    model.save_pretrained(tmp_path / "model")
    predictor = Predictor.from_pretrained(tmp_path / "model")
    assert predictor.hop_samples == data.eval_hop_samples == 2000  # not the chunk length
    assert predictor.chunk_samples == data.crop_samples
    assert predictor.model.loudness == Loudness(method="rms", target_db=-20.0)

    song = tmp_path / "song.wav"
    sf.write(song, render_clip("house", seed=2, seconds=2.5, sample_rate=8000), 8000)
    loaded = WaveformClassifier.from_pretrained(tmp_path / "model")
    assert predict_file(loaded, song) == pytest.approx(predictor.score_file(song).probabilities)
    assert predictor.score_file(song).timeline.shape[0] == 7  # 2.5 s in 1 s chunks every 0.25 s
