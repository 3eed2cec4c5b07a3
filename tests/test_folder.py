"""Folder builder: labels CSV (with or without a split column) and per-genre sub-folders."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from conftest import write_tone

from waveform_mir.config import DataConfig
from waveform_mir.data import prepare_dataset
from waveform_mir.data.registry import DataSourceError, build_manifest


def _genre_folders(root, genres=("blues", "jazz", "rock"), per_genre=10):
    for g, genre in enumerate(genres):
        for i in range(per_genre):
            write_tone(root / genre / f"{genre}.{i:05d}.wav", 200 + 50 * g, 0.3, 8000)
    return root


def _splits(manifest):
    return {s: list(manifest.splits[s]["track_id"]) for s in manifest.splits}


def test_csv_with_split_and_genre_columns(tmp_path):
    rows = []
    for i, (genre, split) in enumerate([("pop", "train"), ("pop", "val"), ("metal", "test"),
                                         ("metal", "train"), ("metal", "extra")]):
        write_tone(tmp_path / "clips" / f"c{i}.flac", 300 + i * 40, 0.5, 22050)
        rows.append({"path": f"clips/c{i}.flac", "genre": genre, "split": split,
                     "track_id": f"id-{i}"})
    with (tmp_path / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    config = DataConfig(source="folder", options={"root": str(tmp_path)}, sample_rate=16000,
                        cache_dir=str(tmp_path / "cache"))
    prepared = prepare_dataset(config, progress=False)
    data = prepared.dataset
    assert prepared.label_names == ["metal", "pop"]
    assert list(data["train"]["track_id"]) == ["id-0", "id-3"]
    assert list(data["validation"]["track_id"]) == ["id-1"]
    assert list(data["test"]["label"]) == [0]
    assert prepared.dropped == {"split 'extra' not used": 1}
    assert len(data["test"][0]["waveform"]) == 8000


def test_split_map_option_selects_splits(tmp_path):
    _genre_folders(tmp_path / "audio", per_genre=2)
    with (tmp_path / "my.csv").open("w") as handle:
        handle.write("path,label,split\n")
        for i, path in enumerate(sorted((tmp_path / "audio").rglob("*.wav"))):
            handle.write(f"audio/{path.relative_to(tmp_path / 'audio')},{path.parent.name},"
                         f"{['dev', 'eval'][i % 2]}\n")
    manifest = build_manifest("folder", {"root": str(tmp_path), "labels_csv": "my.csv",
                                         "splits": {"dev": "train", "eval": "test"}})
    sizes = {s: len(manifest.splits[s]) for s in manifest.splits}
    assert sizes == {"train": 3, "validation": 0, "test": 3}
    assert manifest.splits["train"][0]["track_id"].startswith("audio/")


def test_genre_folders_get_a_seeded_stratified_split(tmp_path):
    root = _genre_folders(tmp_path)
    options = {"root": str(root), "validation_fraction": 0.2, "test_fraction": 0.3}
    first = build_manifest("folder", {**options, "seed": 1})
    assert first.label_names == ["blues", "jazz", "rock"]
    for split, share in (("train", 5), ("validation", 2), ("test", 3)):
        counts = Counter(first.splits[split]["label"])
        assert counts == dict.fromkeys(range(3), share)
    assert _splits(first) == _splits(build_manifest("folder", {**options, "seed": 1}))
    assert _splits(first) != _splits(build_manifest("folder", {**options, "seed": 2}))
    every = [t for ids in _splits(first).values() for t in ids]
    assert len(every) == len(set(every)) == 30


def test_bad_options_are_refused(tmp_path):
    with pytest.raises(DataSourceError, match="unknown option.*'rot'.*valid"):
        build_manifest("folder", {"rot": str(tmp_path)})
    with pytest.raises(DataSourceError, match="unknown dataset source 'foldr'"):
        build_manifest("foldr", {})
    with pytest.raises(ValueError, match="no labels.csv and no audio"):
        build_manifest("folder", {"root": str(tmp_path)})


def test_realmusic_split_column(realmusic, tmp_path):
    config = DataConfig(source="folder", options={"root": str(realmusic)}, sample_rate=16000,
                        cache_dir=str(tmp_path), num_proc=2)
    prepared = prepare_dataset(config, progress=False)
    data = prepared.dataset
    assert {s: len(data[s]) for s in data} == {"train": 359, "validation": 50, "test": 100}
    assert len(prepared.label_names) == 10 and "classical" in prepared.label_names
    assert prepared.dropped == {"split 'extra' not used": 81}
    assert prepared.skipped == []
    lengths = [len(w) for w in data["test"].select(range(5))["waveform"]]
    assert all(15 * 16000 <= n <= 20.1 * 16000 for n in lengths)
    assert set(data["test"]["track_id"]) & set(data["train"]["track_id"]) == set()
    assert np.bincount(data["test"]["label"]).tolist() == [10] * 10
