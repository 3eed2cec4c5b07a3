"""Cache round trip and resume; crop/chunk datasets, balanced sampler, collate, prepare CLI."""

from __future__ import annotations

import argparse
import re
from collections import Counter

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import waveform_mir.data.cache as cache
import waveform_mir.data.synthetic as synthetic
from waveform_mir.commands import prepare as prepare_command
from waveform_mir.config import DataConfig
from waveform_mir.data import (
    AudioDecodeError,
    ChunkDataset,
    RandomCropDataset,
    class_balanced_sampler,
    collate,
    prepare_dataset,
)
from waveform_mir.data.cache import cache_key
from waveform_mir.data.loader import WaveformColumn, chunk_starts
from waveform_mir.data.pcm import from_pcm16

RENDER_CLIP = synthetic.render_clip
SMALL = {"num_per_class": {"train": 2, "validation": 1, "test": 1}, "seconds": 1.0,
         "genres": ["house", "jazz", "ambient"]}


def _config(tmp_path, **options) -> DataConfig:
    return DataConfig(source="synthetic", options={**SMALL, **options}, sample_rate=8000,
                      cache_dir=str(tmp_path / "cache"))


def _floats(stored: list[int]) -> np.ndarray:
    """A row's stored int16 PCM as the float32 samples the loader serves."""
    return from_pcm16(np.asarray(stored, dtype=np.int16))


class Interrupted(BaseException):
    """Stands in for a killed job: not an Exception, so no per-file handler swallows it."""


def _counting_render(monkeypatch, fail_on: str | None = None) -> list[int]:
    calls: list[int] = []

    def render(genre, seed, seconds, sample_rate):
        if fail_on and genre == fail_on:
            raise Interrupted
        calls.append(seed)
        return RENDER_CLIP(genre, seed, seconds, sample_rate)

    monkeypatch.setattr(synthetic, "render_clip", render)
    return calls


def test_second_prepare_loads_from_cache_without_decoding(tmp_path, monkeypatch):
    first = prepare_dataset(_config(tmp_path), progress=False)
    calls = _counting_render(monkeypatch)
    second = prepare_dataset(_config(tmp_path), progress=False)
    assert calls == []
    assert second.cache_path == first.cache_path and second.label_names == first.label_names
    for split in ("train", "validation", "test"):
        assert second.dataset[split]["track_id"] == first.dataset[split]["track_id"]
    np.testing.assert_array_equal(second.dataset["test"][0]["waveform"],
                                  first.dataset["test"][0]["waveform"])
    prepare_dataset(_config(tmp_path), progress=False, refresh=True)
    assert len(calls) == 12
    prepare_dataset(_config(tmp_path, seed=5), progress=False)
    assert len(calls) == 24  # other options, other cache entry


def test_interrupted_preparation_resumes_finished_shards(tmp_path, monkeypatch):
    options = {"genres": ["house", "jazz"], "num_per_class": {"train": 2, "validation": 1,
                                                              "test": 1}}
    config = _config(tmp_path, **options)
    monkeypatch.setattr(cache, "SHARD_ROWS_PER_PROC", 2)  # train = [house, house] + [jazz, jazz]
    calls = _counting_render(monkeypatch, fail_on="jazz")
    with pytest.raises(Interrupted):
        prepare_dataset(config, progress=False)
    assert len(calls) == 2  # the first train shard finished, the second stopped
    calls = _counting_render(monkeypatch)
    prepared = prepare_dataset(config, progress=False)
    assert len(prepared.dataset["train"]) == 4
    assert len(calls) == 6  # the finished house shard was not decoded again


def test_failures_are_reported_and_all_failing_is_an_error(tmp_path, monkeypatch):
    def broken(genre, seed, seconds, sample_rate):
        raise AudioDecodeError(f"clip-{seed}", "synthetic failure")

    monkeypatch.setattr(synthetic, "render_clip", broken)
    with pytest.raises(AudioDecodeError, match="every file failed; first: synthetic failure"):
        prepare_dataset(_config(tmp_path), progress=False)


def test_empty_split_round_trips(tmp_path):
    prepared = prepare_dataset(_config(tmp_path, num_per_class={"train": 1, "test": 1}),
                               progress=False)
    again = prepare_dataset(_config(tmp_path, num_per_class={"train": 1, "test": 1}),
                            progress=False)
    assert len(prepared.dataset["validation"]) == len(again.dataset["validation"]) == 0
    assert "waveform" in again.dataset["validation"].column_names


def test_cache_key_is_stable_and_order_free():
    assert cache_key("fma", {"a": 1, "b": [1, 2]}, 16000) == cache_key(
        "fma", {"b": [1, 2], "a": 1}, 16000)
    assert cache_key("fma", {"a": 1}, 16000) != cache_key("fma", {"a": 1}, 22050)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    config = DataConfig(source="synthetic", options={**SMALL, "num_per_class": 4},
                        sample_rate=8000, cache_dir=str(tmp_path_factory.mktemp("c")))
    return prepare_dataset(config, progress=False).dataset["train"]


def test_waveform_column_matches_rows_and_honours_indices(split):
    column = WaveformColumn(split)
    np.testing.assert_array_equal(column[3], _floats(split[3]["waveform"]))
    assert column[3].dtype == np.float32
    shuffled = split.shuffle(seed=0)
    np.testing.assert_array_equal(WaveformColumn(shuffled)[0], _floats(shuffled[0]["waveform"]))
    assert column.lengths.tolist() == [8000] * len(split)


def test_random_crops_are_slices_and_seeded(split):
    crops = RandomCropDataset(split, 3000, seed=1)
    item = crops[5]
    assert item["waveform"].shape == (3000,) and item["waveform"].dtype == torch.float32
    assert item["label"] == split[5]["label"]
    full = _floats(split[5]["waveform"])
    start = int(np.argmin([np.abs(full[s : s + 3000] - item["waveform"].numpy()).sum()
                           for s in range(5001)]))
    np.testing.assert_array_equal(full[start : start + 3000], item["waveform"].numpy())
    again = RandomCropDataset(split, 3000, seed=1)
    assert torch.equal(again[5]["waveform"], item["waveform"])  # independent of access order
    again.set_epoch(1)
    assert not torch.equal(again[5]["waveform"], item["waveform"])  # a new crop per epoch


def test_short_clips_are_zero_padded(split):
    item = RandomCropDataset(split, 10000)[0]
    wave = item["waveform"].numpy()
    assert wave.shape == (10000,) and (wave == 0).sum() >= 2000
    nonzero = np.flatnonzero(wave)
    assert nonzero[-1] - nonzero[0] < 8000


@pytest.mark.parametrize(("length", "chunk", "hop"), [(8000, 3000, 3000), (8000, 3000, 1000),
                                                     (8000, 8000, 100), (2000, 3000, 3000)])
def test_chunks_cover_every_sample(length, chunk, hop):
    covered = np.zeros(length, bool)
    for start in chunk_starts(length, chunk, hop):
        assert start + chunk <= max(length, chunk)
        covered[start : start + chunk] = True
    assert covered.all()


def test_chunk_dataset(split):
    chunks = ChunkDataset(split, 3000, 3000)
    assert chunks.num_tracks == len(split) and len(chunks) == 3 * len(split)
    batch = collate([chunks[i] for i in range(4)])
    assert batch["waveform"].shape == (4, 3000)
    assert batch["track_index"].tolist() == [0, 0, 0, 1]
    assert batch["label"].tolist()[:3] == [split[0]["label"]] * 3
    last = chunks[2]["waveform"].numpy()
    np.testing.assert_array_equal(last, _floats(split[0]["waveform"][5000:]))
    long = ChunkDataset(split, 10000, 5000)
    assert len(long) == len(split) and long[0]["waveform"].shape == (10000,)


def test_balanced_sampler_draws_classes_uniformly():
    labels = [0] * 90 + [1] * 9 + [2] * 1
    sampler = class_balanced_sampler(labels, 30000, seed=0)
    drawn = list(sampler)
    shares = Counter(labels[i] for i in drawn)
    assert len(sampler) == 30000
    assert all(abs(shares[c] / 30000 - 1 / 3) < 0.02 for c in range(3))
    assert list(sampler) != drawn  # a new draw per epoch


def test_dataloader_end_to_end(split):
    crops = RandomCropDataset(split, 4000)
    sampler = class_balanced_sampler(crops.labels, 8)
    batch = next(iter(DataLoader(crops, batch_size=8, sampler=sampler, collate_fn=collate)))
    assert batch["waveform"].shape == (8, 4000) and batch["label"].shape == (8,)
    assert set(batch) == {"waveform", "label"}


def test_prepare_command_prints_table(tmp_path, capsys):
    recipe = tmp_path / "r.yaml"
    recipe.write_text("data:\n  source: synthetic\n  sample_rate: 8000\n")
    parser = argparse.ArgumentParser()
    prepare_command.register(parser.add_subparsers())
    args = parser.parse_args([
        "prepare", str(recipe), "--no-progress", "--set", f"data.cache_dir={tmp_path}",
        "--set", "data.options={num_per_class: 1, seconds: 0.5, genres: [rock, jazz]}"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "tracks per split and genre" in out and "rock" in out
    assert "skipped files: 0" in out and "skipped.csv" in out
    rate = re.search(r"decoded 6 files in [\d.]+ s: ([\d.]+) files/s, ([\d.]+) per worker "
                     r"\(1 worker\); at this rate fma_small (\d+) min", " ".join(out.split()))
    assert rate and float(rate.group(1)) > 0 and rate.group(1) == rate.group(2), out
    assert abs(int(rate.group(3)) - 8000 / float(rate.group(1)) / 60) <= 1  # rounded rate

    assert args.func(args) == 0  # from the cache: nothing decoded, no rate to report
    assert "decoded" not in capsys.readouterr().out
