"""The compact cache: int16 PCM on disk, written once, resumable, keyed by its format."""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile as sf
import torch

import waveform_mir.data.cache as cache
import waveform_mir.data.synthetic as synthetic
from waveform_mir.config import DataConfig
from waveform_mir.data import ChunkDataset, RandomCropDataset, StreamingCropDataset, prepare_dataset
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.data.manifest import SPLITS, Manifest
from waveform_mir.data.pcm import PCM_SCALE, from_pcm16, to_pcm16
from waveform_mir.data.store import DATA_DIR

RATE = 8000
STEP = 1 / PCM_SCALE
LEVEL = {"method": "none"}  # keep the written samples as they are: no loudness gain
RENDER_CLIP = synthetic.render_clip


class Interrupted(BaseException):
    """A killed job: not an Exception, so no per-file handler swallows it."""


def _test_signal(seed: int, seconds: float = 1.0) -> np.ndarray:
    """float32 ``(samples,)``: noise over [-1, 1] plus exact ±1, on-grid and mid-step values."""
    rng = np.random.default_rng(seed)
    wave = rng.uniform(-1, 1, int(seconds * RATE)).astype(np.float32)
    wave[:6] = [1.0, -1.0, 0.0, 12345 * STEP, (100 + 0.5) * STEP, -(7 + 0.25) * STEP]
    return wave


def _folder(root: Path, signals: dict[str, np.ndarray], broken: tuple[str, ...] = ()) -> Path:
    """A folder source of float WAVs (no resampling, so decoding returns them exactly)."""
    root.mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split", "track_id"])
        for index, (name, wave) in enumerate(signals.items()):
            path = root / f"{name}.wav"
            if name in broken:
                path.write_bytes(b"RIFF not audio")
            else:
                sf.write(path, wave, RATE, subtype="FLOAT")
            writer.writerow([path.name, ["a", "b"][index % 2], "train", name])
    return root


def _folder_config(root: Path, cache_dir: Path) -> DataConfig:
    return DataConfig(source="folder", options={"root": str(root)}, sample_rate=RATE,
                      cache_dir=str(cache_dir), loudness=LEVEL)


def _synthetic_config(tmp_path: Path, seconds: float = 1.0, **options) -> DataConfig:
    counts = {"train": 2, "validation": 1, "test": 1}
    return DataConfig(source="synthetic", sample_rate=RATE, cache_dir=str(tmp_path / "cache"),
                      loudness=LEVEL, options={"num_per_class": counts, "seconds": seconds,
                                               "genres": ["house", "jazz"], **options})


def _counting_render(monkeypatch, fail_on: str | None = None) -> list[str]:
    """Record the genre of every clip rendered; raise :class:`Interrupted` on ``fail_on``."""
    calls: list[str] = []

    def render(genre, seed, seconds, sample_rate):
        if genre == fail_on:
            raise Interrupted
        calls.append(genre)
        return RENDER_CLIP(genre, seed, seconds, sample_rate)

    monkeypatch.setattr(synthetic, "render_clip", render)
    return calls


def _disk_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _samples(prepared) -> int:
    return sum(int(WaveformColumn(split).lengths.sum()) for split in prepared.dataset.values())


def test_pcm16_codec_is_exact_to_one_step():
    wave = np.concatenate([_test_signal(0), np.float32([1.5, -1.5])])
    pcm = to_pcm16(wave)
    assert pcm.dtype == np.int16 and pcm[:3].tolist() == [32767, -32768, 0]
    back = from_pcm16(pcm)
    assert back.dtype == np.float32 and back.min() >= -1 and back.max() <= 1
    assert np.abs(back[:-2] - wave[:-2]).max() <= STEP
    inside = np.abs(wave) <= 1 - STEP
    assert np.abs(back[inside] - wave[inside]).max() <= STEP / 2 + 1e-9


def test_prepared_audio_round_trips_within_one_step(tmp_path):
    signals = {f"t{i}": _test_signal(i) for i in range(3)}
    prepared = prepare_dataset(_folder_config(_folder(tmp_path / "audio", signals),
                                              tmp_path / "cache"), progress=False)
    split = prepared.dataset["train"]
    column = WaveformColumn(split)
    for row, track in enumerate(split["track_id"]):
        original = signals[track]
        stored = column.pcm(row)
        assert stored.dtype == np.int16
        np.testing.assert_array_equal(stored, np.clip(np.rint(original * PCM_SCALE),
                                                      -32768, 32767).astype(np.int16))
        served = column[row]
        assert served.dtype == np.float32 and np.abs(served).max() <= 1
        assert np.abs(served - original).max() <= STEP
        assert served[3] == original[3]  # on the 16-bit grid: bit-exact
    crop = RandomCropDataset(split, 3000)[1]["waveform"].numpy()
    assert crop.dtype == np.float32
    original = signals[split[1]["track_id"]]
    start = int(np.argmin([np.abs(original[s : s + 3000] - crop).max() for s in range(5001)]))
    assert np.abs(original[start : start + 3000] - crop).max() <= STEP
    chunk = ChunkDataset(split, 3000, 3000)[2]["waveform"].numpy()  # the last, end-flush chunk
    assert np.abs(chunk - signals[split[0]["track_id"]][-3000:]).max() <= STEP


def test_feature_baseline_reads_float_audio(tmp_path, monkeypatch):
    pytest.importorskip("librosa")
    import waveform_mir.baseline.extract as extract

    signals = {f"t{i}": _test_signal(i) for i in range(2)}
    split = prepare_dataset(_folder_config(_folder(tmp_path / "audio", signals),
                                           tmp_path / "cache"), progress=False).dataset["train"]
    seen = []

    def record(wave, sample_rate, chunk_seconds):
        seen.append(wave)
        return np.zeros((1, extract.feature_dim()), np.float32)

    monkeypatch.setattr(extract, "clip_features", record)
    extract.extract_split(split, RATE, 1.0, n_jobs=1, progress=False)
    for wave, track in zip(seen, split["track_id"], strict=True):
        assert wave.dtype == np.float32
        assert np.abs(wave - signals[track]).max() <= STEP


def _render_signal(row: dict, sample_rate: int) -> np.ndarray:
    return _test_signal(int(row["track_id"][1:]))


def test_streamed_rows_are_rounded_as_the_cache_rounds_them(tmp_path, monkeypatch):
    """A Hub-style streamed manifest: training rows stay a stream, decoded to the cache's
    int16 samples as they are read; validation and test are read once into the cache."""
    features = datasets.Features({"track_id": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["a", "b"])})
    rows = datasets.Dataset.from_dict({"track_id": ["t0", "t1"], "label": [0, 1]}, features)
    splits = datasets.IterableDatasetDict({s: rows.to_iterable_dataset() for s in SPLITS})
    monkeypatch.setattr("waveform_mir.data.prepare.build_manifest",
                        lambda source, options: Manifest(splits, _render_signal))
    prepared = prepare_dataset(_synthetic_config(tmp_path, streaming=True), progress=False)
    assert isinstance(prepared.stream.rows, datasets.IterableDataset)
    assert len(prepared.dataset["train"]) == 0 and prepared.dataset["test"]["track_id"] == [
        "t0", "t1"]
    column = WaveformColumn(prepared.dataset["test"])
    crops = StreamingCropDataset(prepared.stream, RATE)  # as long as the signals: whole
    for item in itertools.islice(crops, 2):
        expected = from_pcm16(to_pcm16(_test_signal(int(item["track_id"][1:]))))
        assert item["waveform"].dtype == torch.float32
        np.testing.assert_array_equal(item["waveform"].numpy(), expected)
        np.testing.assert_array_equal(item["waveform"].numpy(),
                                      column[int(item["track_id"][1:])])


def test_cache_holds_two_bytes_per_sample(tmp_path):
    prepared = prepare_dataset(_synthetic_config(tmp_path, seconds=2.0), progress=False)
    samples = _samples(prepared)
    assert samples == 8 * 2 * RATE
    per_sample = _disk_bytes(prepared.cache_path) / samples
    assert 2.0 <= per_sample <= 2.1, per_sample


def test_failed_tracks_are_left_out_and_reported(tmp_path):
    signals = {f"t{i}": _test_signal(i, 0.5) for i in range(5)}
    root = _folder(tmp_path / "audio", signals, broken=("t2",))
    prepared = prepare_dataset(_folder_config(root, tmp_path / "cache"), progress=False)
    split = prepared.dataset["train"]
    assert split["track_id"] == ["t0", "t1", "t3", "t4"]
    column = WaveformColumn(split)
    for row, track in enumerate(split["track_id"]):
        assert np.abs(column[row] - signals[track]).max() <= STEP
    assert [Path(file).name for file, _ in prepared.skipped] == ["t2.wav"]
    assert "error" not in split.column_names


def test_cache_of_the_previous_format_is_rebuilt_not_loaded(tmp_path, monkeypatch):
    assert cache.CACHE_FORMAT >= 2  # 1 stored float32 samples
    monkeypatch.setattr(cache, "CACHE_FORMAT", 1)
    old = prepare_dataset(_synthetic_config(tmp_path), progress=False)
    monkeypatch.undo()
    calls = _counting_render(monkeypatch)
    new = prepare_dataset(_synthetic_config(tmp_path), progress=False)
    assert len(calls) == 8 and new.cache_path != old.cache_path
    assert WaveformColumn(new.dataset["train"]).pcm(0).dtype == np.int16


def _interrupt_after_first_train_shard(tmp_path, monkeypatch) -> DataConfig:
    """Shards of two rows: train = [house, house] + [jazz, jazz]; stop in the jazz shard."""
    config = _synthetic_config(tmp_path)
    monkeypatch.setattr(cache, "SHARD_ROWS_PER_PROC", 2)
    calls = _counting_render(monkeypatch, fail_on="jazz")
    with pytest.raises(Interrupted):
        prepare_dataset(config, progress=False)
    assert calls == ["house", "house"]
    return config


def test_interrupted_preparation_resumes_from_its_final_files(tmp_path, monkeypatch):
    config = _interrupt_after_first_train_shard(tmp_path, monkeypatch)
    entry = next((tmp_path / "cache").iterdir())
    folder = entry / DATA_DIR
    finished = folder / "train-00000000-00000002.arrow"
    before = finished.stat()
    (folder / "tmpq1w2e3r4").write_bytes(b"half a shard")  # what a killed writer leaves
    calls = _counting_render(monkeypatch)
    prepared = prepare_dataset(config, progress=False)
    assert calls == ["jazz", "jazz", "house", "jazz", "house", "jazz"]
    after = finished.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert prepared.dataset["train"]["track_id"] == [
        f"synthetic-train-{genre}-{i:04d}" for genre in ("house", "jazz") for i in range(2)]
    listed = {name for files in json.loads((entry / "info.json").read_text())["files"].values()
              for name in files}
    assert {p.name for p in folder.iterdir()} == listed  # no markers, strays or copies left


def test_resume_with_another_shard_size_decodes_the_right_rows(tmp_path, monkeypatch):
    config = _interrupt_after_first_train_shard(tmp_path, monkeypatch)
    monkeypatch.setattr(cache, "SHARD_ROWS_PER_PROC", 3)  # e.g. resumed with more workers
    calls = _counting_render(monkeypatch)
    prepared = prepare_dataset(config, progress=False)
    assert len(calls) == 8  # no shard of the other size is reused
    assert prepared.dataset["train"]["track_id"] == [
        f"synthetic-train-{genre}-{i:04d}" for genre in ("house", "jazz") for i in range(2)]


def _watch_peak_disk(monkeypatch, folder: Path) -> list[int]:
    """Sizes of ``folder`` just before every file removal or rename, and so its peak: disk
    use only falls at a removal (or a rename over a file), so it peaks just before one or at
    the end."""
    sizes: list[int] = []

    def watching(original):
        def call(*args, **kwargs):
            sizes.append(_disk_bytes(folder) if folder.exists() else 0)
            return original(*args, **kwargs)
        return call

    for module, name in ((os, "unlink"), (os, "remove"), (os, "rename"), (os, "replace"),
                         (shutil, "rmtree")):
        monkeypatch.setattr(module, name, watching(getattr(module, name)))
    return sizes


@pytest.mark.parametrize("refresh", [False, True])
def test_preparation_never_holds_the_audio_twice(tmp_path, monkeypatch, refresh):
    config = _synthetic_config(tmp_path, seconds=2.0)
    if refresh:
        prepare_dataset(config, progress=False)
    sizes = _watch_peak_disk(monkeypatch, tmp_path / "cache")
    prepared = prepare_dataset(config, progress=False, refresh=refresh)
    monkeypatch.undo()
    final = _disk_bytes(tmp_path / "cache")
    assert sizes and final <= 2.1 * _samples(prepared)
    assert max(sizes) <= 1.1 * final, (max(sizes), final)
    assert torch.is_tensor(RandomCropDataset(prepared.dataset["train"], 100)[0]["waveform"])
