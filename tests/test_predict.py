"""Track scoring, embeddings and the ``predict`` / ``embed`` commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from inference_helpers import CROP_SECONDS, GENRES, SAMPLE_RATE, write_clip

from waveform_mir.cli import main
from waveform_mir.data import AudioDecodeError
from waveform_mir.model import WaveformClassifier
from waveform_mir.predict import (
    DEFAULT_CHUNK_SECONDS,
    ModelLoadError,
    Predictor,
    embed_file,
    predict_file,
    resolve_model_source,
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """One fresh MP3 per genre (seeds unseen in training), plus bad files in the same folder."""
    folder = tmp_path_factory.mktemp("clips")
    files = {g: write_clip(folder / f"{g}.mp3", g, seed=7000 + i) for i, g in enumerate(GENRES)}
    (folder / "empty.mp3").write_bytes(b"")
    (folder / "notes.txt").write_text("not audio, and not an audio suffix either")
    (folder / "fake.wav").write_bytes(b"RIFF this is not really a wave file" * 20)
    return files


def bad_files(folder: Path) -> dict[str, Path]:
    """Undecodable inputs with an audio suffix: empty, non-audio, cut off."""
    good = write_clip(folder / "whole.mp3", "house", seed=1, seconds=6.0)
    files = {"empty": folder / "empty.mp3", "not audio": folder / "pdf.mp3",
             "truncated": folder / "cut.mp3"}
    files["empty"].write_bytes(b"")
    files["not audio"].write_bytes(b"%PDF-1.4 definitely not a song" * 50)
    files["truncated"].write_bytes(good.read_bytes()[: good.stat().st_size // 4])
    return files


def test_model_folder_resolution(run_dir, tmp_path):
    assert resolve_model_source(run_dir) == run_dir / "best"
    assert resolve_model_source(run_dir / "best") == run_dir / "best"
    with pytest.raises(ModelLoadError, match="no saved model"):
        resolve_model_source(tmp_path)
    with pytest.raises(ModelLoadError, match="no such model folder"):
        resolve_model_source(tmp_path / "missing" / "model")


def test_chunk_length_travels_with_the_checkpoint(run_dir, predictor, tmp_path):
    assert predictor.sample_rate == SAMPLE_RATE
    assert predictor.chunk_samples == predictor.hop_samples == CROP_SECONDS * SAMPLE_RATE
    model = WaveformClassifier.from_pretrained(run_dir / "best")
    model.save_pretrained(tmp_path / "bare")  # weights and config.json only, no recipe
    assert Predictor.from_pretrained(tmp_path / "bare").chunk_samples == (
        CROP_SECONDS * SAMPLE_RATE)
    model.chunk_seconds = None  # a model built by hand that never recorded its crop length
    assert Predictor(model).chunk_samples == DEFAULT_CHUNK_SECONDS * SAMPLE_RATE


@pytest.mark.parametrize(("seconds", "hop", "starts"), [
    (0.6, 1.0, [0.0]),                 # shorter than a chunk: one zero-padded chunk
    (3.0, 1.0, [0.0, 1.0, 2.0]),       # exact multiple
    (3.5, 1.0, [0.0, 1.0, 2.0, 2.5]),  # last chunk flush with the end
    (2.0, 0.5, [0.0, 0.5, 1.0]),       # overlapping hops
])
def test_chunks_cover_the_track(run_dir, seconds, hop, starts):
    predictor = Predictor.from_pretrained(run_dir, hop_seconds=hop)
    wave = np.random.default_rng(0).uniform(-1, 1, int(seconds * SAMPLE_RATE)).astype(np.float32)
    chunks, start_samples = predictor.chunks(wave)
    assert chunks.shape == (len(starts), predictor.chunk_samples)
    np.testing.assert_allclose(start_samples / SAMPLE_RATE, starts)
    for chunk, start in zip(chunks.numpy(), start_samples, strict=True):
        piece = wave[start : start + predictor.chunk_samples]
        np.testing.assert_array_equal(chunk[: piece.shape[0]], piece)
        assert not chunk[piece.shape[0]:].any()


def test_track_scores_average_the_chunks(predictor):
    wave = np.random.default_rng(1).uniform(-0.5, 0.5, int(3.5 * SAMPLE_RATE)).astype(np.float32)
    scores = predictor.score_waveform(wave)
    assert scores.timeline.shape == (4, len(GENRES))
    assert scores.labels == list(GENRES)
    np.testing.assert_allclose(scores.timeline.sum(axis=1), 1.0, rtol=1e-5)
    assert sum(scores.probabilities.values()) == pytest.approx(1.0)
    values = list(scores.probabilities.values())
    assert values == sorted(values, reverse=True)
    means = scores.timeline.mean(axis=0)
    assert scores.probabilities == pytest.approx(dict(zip(scores.labels, means, strict=True)))
    levelled = predictor.model.loudness(wave, SAMPLE_RATE)  # as the model was trained
    chunks, _ = predictor.chunks(levelled)
    with torch.inference_mode():
        direct = predictor.model.embed(chunks).mean(dim=0).numpy()
        logits = predictor.model(chunks)
    np.testing.assert_allclose(scores.embedding, direct, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(scores.timeline, torch.softmax(logits, 1).numpy(), atol=1e-5)
    assert scores.duration_s == pytest.approx(3.5)
    assert [g for g, _ in scores.top_k(2)] == list(scores.probabilities)[:2]


def test_batch_size_does_not_change_scores(run_dir):
    wave = np.random.default_rng(2).uniform(-0.5, 0.5, 5 * SAMPLE_RATE).astype(np.float32)
    one = Predictor.from_pretrained(run_dir, batch_size=1).score_waveform(wave)
    many = Predictor.from_pretrained(run_dir, batch_size=16).score_waveform(wave)
    np.testing.assert_allclose(one.timeline, many.timeline, atol=1e-5)
    np.testing.assert_allclose(one.embedding, many.embedding, rtol=1e-4, atol=1e-5)


def test_trained_model_names_the_genres(predictor, clips):
    for genre, path in clips.items():
        assert predictor.score_file(path).top_genre == genre, path.name


def test_python_api(run_dir, predictor, clips):
    path = clips["metal"]
    expected = predictor.score_file(path)
    assert predict_file(run_dir, path) == pytest.approx(expected.probabilities)
    top = predict_file(predictor, path, top_k=2)
    assert list(top) == list(expected.probabilities)[:2]
    assert predict_file(predictor.model, path, chunk_seconds=CROP_SECONDS) == pytest.approx(
        expected.probabilities)
    np.testing.assert_allclose(embed_file(run_dir, path), expected.embedding, rtol=1e-5)


def test_bad_inputs_raise_one_clear_error(predictor, tmp_path):
    for reason, path in bad_files(tmp_path).items():
        with pytest.raises(AudioDecodeError) as caught:
            predictor.score_file(path)
        assert path.name in str(caught.value), reason
    with pytest.raises(AudioDecodeError, match="file not found"):
        predictor.score_file(tmp_path / "missing.mp3")
    with pytest.raises(AudioDecodeError, match="too short"):
        predictor.score_file(write_clip(tmp_path / "blip.wav", "house", seed=3, seconds=0.3))
    with pytest.raises(AudioDecodeError, match="too short"):
        predictor.score_waveform(np.zeros(SAMPLE_RATE // 4, dtype=np.float32))


def test_long_files_are_cut_at_max_seconds(run_dir, tmp_path):
    path = write_clip(tmp_path / "long.flac", "ambient", seed=4, seconds=6.0)
    limited = Predictor.from_pretrained(run_dir, max_seconds=2.5).score_file(path)
    assert limited.truncated and limited.duration_s == pytest.approx(2.5)
    whole = Predictor.from_pretrained(run_dir, max_seconds=6.0).score_file(path)
    assert not whole.truncated and whole.duration_s == pytest.approx(6.0, abs=1e-3)


def test_predict_command_json_lines(run_dir, clips, capsys):
    folder = clips["metal"].parent
    code = main(["predict", str(folder), "--model", str(run_dir), "--json", "--timeline",
                 "--top-k", "2"])
    captured = capsys.readouterr()
    assert code == 1  # two undecodable files in the folder
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert {Path(r["file"]).stem: r["top"][0]["genre"] for r in records} == {
        g: g for g in GENRES}
    assert all(len(r["top"]) == 2 and len(r["timeline"]) == 4 for r in records)
    assert set(records[0]["timeline"][0]["probabilities"]) == set(GENRES)
    problems = [line for line in captured.err.splitlines() if line.startswith("skipped:")]
    assert len(problems) == 2, captured.err
    assert any("empty.mp3" in line and "empty" in line for line in problems)
    assert any("fake.wav" in line for line in problems)
    assert "Traceback" not in captured.err


def test_predict_command_table(run_dir, clips, tmp_path, capsys):
    code = main(["predict", str(clips["house"]), str(tmp_path / "nowhere.mp3"),
                 "--model", str(run_dir / "best"), "--timeline"])
    captured = capsys.readouterr()
    assert code == 1
    assert "house.mp3" in captured.out and re.search(r"house [01]\.\d\d", captured.out)
    assert "timeline" in captured.out and "start (s)" in captured.out
    assert "nowhere.mp3: file not found" in captured.err


def test_predict_command_with_a_missing_model(tmp_path, clips, capsys):
    assert main(["predict", str(clips["house"]), "--model", str(tmp_path)]) == 2
    assert "no saved model" in capsys.readouterr().err


def test_embed_command_writes_parquet(run_dir, predictor, clips, tmp_path, capsys):
    out = tmp_path / "out" / "embeddings.parquet"
    code = main(["embed", *(str(p) for p in clips.values()), str(tmp_path / "gone.wav"),
                 "--model", str(run_dir), "--out", str(out)])
    assert code == 1
    assert "gone.wav" in capsys.readouterr().err
    table = pd.read_parquet(out)
    assert list(table["path"]) == [str(p) for p in clips.values()]
    stacked = np.stack(table["embedding"].to_list())
    assert stacked.shape == (len(GENRES), predictor.model.backbone.embedding_dim)
    np.testing.assert_allclose(stacked[0], predictor.score_file(clips[GENRES[0]]).embedding,
                               rtol=1e-5, atol=1e-6)


def test_embed_command_with_nothing_readable(run_dir, tmp_path, capsys):
    files = bad_files(tmp_path)
    code = main(["embed", *(str(p) for p in files.values()), "--model", str(run_dir),
                 "--out", str(tmp_path / "e.parquet")])
    assert code == 2
    err = capsys.readouterr().err
    assert "no file could be embedded" in err and "Traceback" not in err
    assert not (tmp_path / "e.parquet").exists()
