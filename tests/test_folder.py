"""Folder builder: labels CSV (with or without a split column) and per-genre sub-folders."""

from __future__ import annotations

import csv
from collections import Counter

import numpy as np
import pytest
from conftest import write_tone

from waveform_mir.config import DataConfig
from waveform_mir.data import RandomCropDataset, prepare_dataset, resolve_task, select_task
from waveform_mir.data.labels import label_targets
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


def _tag_csv(root, header, rows):
    for i in range(len(rows)):
        write_tone(root / "clips" / f"c{i}.wav", 300 + 30 * i, 0.5, 8000)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", *header])
        writer.writerows([f"clips/c{i}.wav", *row] for i, row in enumerate(rows))


def test_tag_columns_become_tag_lists_through_the_cache(tmp_path):
    _tag_csv(tmp_path, ["genre", "moods", "split"], [
        ("pop", "happy;calm", "train"), ("rock", "", "train"), ("rock", "angry ; happy", "val"),
        ("pop", "sad", "test"), ("pop", "calm", "extra")])
    config = DataConfig(source="folder", options={"root": str(tmp_path), "tag_columns": ["moods"]},
                        sample_rate=8000, cache_dir=str(tmp_path / "cache"),
                        task="multi_label", label_column="moods")
    prepared = prepare_dataset(config, progress=False)
    train = prepared.dataset["train"]
    names = ["angry", "calm", "happy", "sad"]  # every tag of the used rows, sorted
    assert train.features["moods"].feature.names == names
    assert prepared.label_names == ["pop", "rock"]  # the single label is still there
    assert [[names[t] for t in tags] for tags in train["moods"]] == [["happy", "calm"], []]
    tagged = select_task(prepared, config)
    assert tagged.label_names == names
    np.testing.assert_array_equal(label_targets(tagged.dataset["validation"]), [[1, 0, 1, 0]])
    assert label_targets(tagged.dataset["test"]).tolist() == [[0, 0, 0, 1]]


def test_csv_with_tags_only_gets_a_seeded_split(tmp_path):
    _tag_csv(tmp_path, ["tags"], [("a;b",), ("b",), ("c",), ("a",), ("b;c",)] * 2)
    options = {"root": str(tmp_path), "tag_columns": ["tags"], "test_fraction": 0.2}
    manifest = build_manifest("folder", options)
    assert manifest.label_names == [] and "label" not in manifest.splits["train"].column_names
    assert {s: len(manifest.splits[s]) for s in manifest.splits} == {
        "train": 7, "validation": 1, "test": 2}
    assert _splits(manifest) == _splits(build_manifest("folder", options))
    task = resolve_task(DataConfig(task="multi_label", label_column="tags"),
                        manifest.splits["train"].features)
    assert task.names == ("a", "b", "c")


def test_bad_tag_options_are_refused(tmp_path):
    _tag_csv(tmp_path, ["genre", "moods"], [("pop", "happy")])
    with pytest.raises(ValueError, match=r"missing \['mood'\]"):
        build_manifest("folder", {"root": str(tmp_path), "tag_columns": ["mood"]})
    with pytest.raises(ValueError, match=r"missing \['quadrant'\]"):
        build_manifest("folder", {"root": str(tmp_path), "label_column": "quadrant",
                                  "tag_columns": ["moods"]})
    with pytest.raises(ValueError, match="clash"):
        build_manifest("folder", {"root": str(tmp_path), "tag_columns": ["path"]})
    folders = _genre_folders(tmp_path / "by_genre", per_genre=1)
    with pytest.raises(ValueError, match="need a labels CSV"):
        build_manifest("folder", {"root": str(folders), "tag_columns": ["moods"]})


# SOURCES.md of the mood/genre folder: clips per split and tags per clip (train), and the
# train counts of a few tags.
MOODGENRE_SPLITS = {"train": 449, "validation": 90, "test": 134}
MOODGENRE_TRAIN = {"genres": (21, 1.81, {"pop/rock": 184, "jazz": 82, "classical": 8}),
                   "moods": (82, 4.40, {"calm": 42, "gloomy": 44, "rousing": 16})}


def test_moodgenre_loads_as_multi_label_and_quadrant_as_single_label(moodgenre):
    options = {"root": str(moodgenre), "tag_columns": ["genres", "moods"],
               "label_column": "quadrant"}
    manifest = build_manifest("folder", options)
    assert {s: len(manifest.splits[s]) for s in manifest.splits} == MOODGENRE_SPLITS
    features = manifest.splits["train"].features
    for column, (num_tags, mean_tags, counts) in MOODGENRE_TRAIN.items():
        task = resolve_task(DataConfig(source="folder", options=options, task="multi_label",
                                       label_column=column), features)
        assert len(task.names) == num_tags
        targets = label_targets(manifest.splits["train"], column)
        assert targets.shape == (449, num_tags)
        assert targets.sum(axis=1).mean() == pytest.approx(mean_tags, abs=0.005)
        assert {tag: targets[:, task.names.index(tag)].sum() for tag in counts} == counts
    quadrant = resolve_task(DataConfig(source="folder", options=options), features)
    assert quadrant.names == ("Q1", "Q2", "Q3", "Q4") and not quadrant.multi_label
    assert np.bincount(label_targets(manifest.splits["test"])).tolist() == [33, 33, 34, 34]


def test_moodgenre_clips_decode_with_their_tags(moodgenre, tmp_path):
    """A few of the real MP3s through the cache and the loader, moods as targets."""
    rows = list(csv.DictReader((moodgenre / "labels.csv").open()))
    chosen = [r for split in ("train", "validation", "test")
              for r in [r for r in rows if r["split"] == split][:2]]
    with (tmp_path / "few.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]))
        writer.writeheader()
        writer.writerows({**r, "path": str(moodgenre / r["path"])} for r in chosen)
    config = DataConfig(source="folder", sample_rate=8000, cache_dir=str(tmp_path / "cache"),
                        options={"root": str(moodgenre), "labels_csv": str(tmp_path / "few.csv"),
                                 "tag_columns": ["moods"], "label_column": "quadrant"},
                        task="multi_label", label_column="moods")
    tagged = select_task(prepare_dataset(config, progress=False), config)
    assert tagged.skipped == [] and len(tagged.dataset["train"]) == 2
    item = RandomCropDataset(tagged.dataset["train"], 8000)[0]
    moods = [tagged.label_names[i] for i in np.flatnonzero(item["label"].numpy())]
    assert moods == sorted(chosen[0]["moods"].split(";"))
    assert len(tagged.dataset["test"][0]["waveform"]) > 25 * 8000
