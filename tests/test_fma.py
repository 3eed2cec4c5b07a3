"""FMA builder on a generated FMA-shaped tree: real two-row-header tracks.csv, real MP3s."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from conftest import write_tone

from waveform_mir.config import DataConfig, RecipeError
from waveform_mir.data import PreparedData, prepare_dataset, select_task
from waveform_mir.data.fma import audio_path, load_tracks, parse_genre_ids
from waveform_mir.data.hub import render_audio_cell, standardize_splits
from waveform_mir.data.registry import build_manifest

GENRES = pd.DataFrame(
    {"#tracks": [5, 5, 5, 1], "parent": [0, 0, 0, 12], "title": ["Hip-Hop", "Pop", "Rock", "Punk"],
     "top_level": [21, 10, 12, 12]},
    index=pd.Index([21, 10, 12, 25], name="genre_id"),
)
TOP = {21: "Hip-Hop", 10: "Pop", 12: "Rock"}
SPLIT_CYCLE = ["training", "training", "training", "validation", "test"]
# subset → number of tracks; ids are assigned in order, so small tracks come first
SUBSETS = {"small": 15, "medium": 10, "large": 5}


def _tracks() -> pd.DataFrame:
    rows, tid = [], 2
    for subset, count in SUBSETS.items():
        for i in range(count):
            top = list(TOP)[i % 3]
            extra = [25] if top == 12 else []
            rows.append((tid, subset, SPLIT_CYCLE[i % 5], TOP[top], str([top, *extra])))
            tid += 3
    rows.append((tid, "small", "training", None, "[]"))  # no top genre: dropped
    rows.append((tid + 1, "medium", "test", None, "[]"))
    frame = pd.DataFrame(rows, columns=["track_id", "subset", "split", "genre_top", "genres_all"])
    columns = pd.MultiIndex.from_tuples([
        ("set", "subset"), ("set", "split"), ("track", "genre_top"), ("track", "genres_all"),
        ("track", "title")])
    table = pd.DataFrame(
        list(zip(frame.subset, frame.split, frame.genre_top, frame.genres_all,
                 [f"song {t}" for t in frame.track_id], strict=True)),
        columns=columns, index=pd.Index(frame.track_id, name="track_id"),
    )
    return table


@pytest.fixture(scope="module")
def fma_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("fma")
    (root / "fma_metadata").mkdir()
    tracks = _tracks()
    tracks.to_csv(root / "fma_metadata" / "tracks.csv")
    GENRES.to_csv(root / "fma_metadata" / "genres.csv")
    for size in ("small", "medium", "large"):
        level = list(SUBSETS).index(size)
        for tid, subset in tracks[("set", "subset")].items():
            if list(SUBSETS).index(subset) <= level:
                seconds = 0.5 if subset == "large" else 1.5  # large-only clips are too short
                write_tone(audio_path(root / f"fma_{size}", tid), 200 + tid, seconds, 8000)
    small = root / "fma_small"
    first, second = tracks.index[0], tracks.index[1]  # both small / training
    audio_path(small, first).write_bytes(b"")
    data = audio_path(small, second).read_bytes()
    audio_path(small, second).write_bytes(data[: len(data) // 2])
    return root


def _prepare(fma_root, tmp_path, **options):
    config = DataConfig(source="fma", options={"root": str(fma_root), "min_seconds": 1.0,
                                               **options},
                        sample_rate=8000, cache_dir=str(tmp_path / "cache"))
    return prepare_dataset(config, progress=False)


def test_reads_the_two_row_header(fma_root):
    tracks = load_tracks(fma_root / "fma_metadata" / "tracks.csv")
    assert ("set", "subset") in tracks.columns and tracks.index.name == "track_id"
    assert parse_genre_ids(tracks[("track", "genres_all")].iloc[2]) == [12, 25]


def test_small_splits_labels_and_skipped_report(fma_root, tmp_path):
    prepared = _prepare(fma_root, tmp_path)
    data = prepared.dataset
    assert prepared.label_names == ["Hip-Hop", "Pop", "Rock"]
    # 15 small tracks: 9 training, 3 validation, 3 test; two bad training files skipped
    assert (len(data["train"]), len(data["validation"]), len(data["test"])) == (7, 3, 3)
    assert prepared.dropped == {"no top-level genre": 1}
    assert len(prepared.skipped) == 2
    with prepared.report_path.open() as handle:
        report = list(csv.DictReader(handle))
    reasons = sorted(row["reason"].split(":")[0].split(" (")[0] for row in report)
    assert reasons == ["empty file", "truncated"]
    assert all(row["split"] == "train" and row["file"].endswith(".mp3") for row in report)
    row = data["test"][0]
    assert len(row["waveform"]) == pytest.approx(1.5 * 8000, abs=400)
    assert data["train"].features["label"].int2str(row["label"]) in TOP.values()
    rock = [r for r in data["validation"] if r["label"] == prepared.label_names.index("Rock")]
    tags = data["validation"].features["genres_all"].feature
    assert tags.names == ["Hip-Hop", "Pop", "Punk", "Rock"]
    assert rock and all(tags.int2str(r["genres_all"]) == ["Rock", "Punk"] for r in rock)


@pytest.mark.parametrize(("subset", "count"), [("small", 15), ("medium", 25), ("large", 30),
                                              ("full", 30)])
def test_subsets_nest(fma_root, subset, count):
    manifest = build_manifest("fma", {"root": str(fma_root), "subset": subset})
    ids = {s: set(manifest.splits[s]["track_id"]) for s in manifest.splits}
    assert sum(len(v) for v in ids.values()) == count
    small = build_manifest("fma", {"root": str(fma_root), "subset": "small"})
    for split in ids:
        assert set(small.splits[split]["track_id"]) <= ids[split]
    assert manifest.splits["train"][0]["path"].startswith(str(fma_root / f"fma_{subset}"))


def test_min_seconds_skips_short_clips(fma_root, tmp_path):
    prepared = _prepare(fma_root, tmp_path, subset="large")
    assert sum(len(prepared.dataset[s]) for s in prepared.dataset) == 25
    assert len(prepared.skipped) == 5
    assert all(reason.startswith("too short: 0.5") for _, reason in prepared.skipped)


def test_unknown_subset_is_refused(fma_root):
    with pytest.raises(ValueError, match="unknown FMA subset 'tiny'"):
        build_manifest("fma", {"root": str(fma_root), "subset": "tiny"})


def test_hub_columns_are_mapped_to_the_schema(tmp_path):
    """The Hub builder's mapping, on a local in-memory dataset shaped like a Hub one."""
    import datasets


    paths = [str(write_tone(tmp_path / f"{i}.wav", 300 + 20 * i, 0.5, 16000)) for i in range(12)]
    audio = [{"bytes": Path(p).read_bytes(), "path": p} for p in paths]
    table = {"song": audio, "genre": ["jazz", "rock", "pop"] * 4, "uid": list(range(100, 112)),
             "other": ["x"] * 12}
    cell = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}
    features = datasets.Features({"song": cell,  # Audio's storage; encoding needs torchcodec
                                  "genre": datasets.Value("string"),
                                  "uid": datasets.Value("int64"),
                                  "other": datasets.Value("string")})
    loaded = datasets.DatasetDict({
        "training": datasets.Dataset.from_dict(table, features=features),
        "eval": datasets.Dataset.from_dict({k: v[:3] for k, v in table.items()}, features=features),
    })
    out = standardize_splits(loaded, audio_column="song", label_column="genre", id_column="uid",
                             split_map={"training": "train", "eval": "test"},
                             validation_fraction=0.25)
    assert set(out) == {"train", "validation", "test"}
    assert (len(out["train"]), len(out["validation"]), len(out["test"])) == (9, 3, 3)
    assert out["train"].features["label"].names == ["jazz", "pop", "rock"]
    assert sorted(out["train"].column_names) == ["audio", "label", "track_id"]
    row = out["test"][1]
    assert row["track_id"] == "101" and row["label"] == 2  # "rock"
    assert render_audio_cell(row, 8000).shape == (4000,)
    assert sorted(out["validation"]["label"]) == [0, 1, 2]  # stratified carve-out


def test_hub_list_columns_become_tag_columns():
    import datasets

    audio = [{"bytes": b"", "path": f"{i}.wav"} for i in range(10)]
    cell = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}
    strings = datasets.Dataset.from_dict(
        {"audio": audio, "moods": [["sad", "calm"], [], ["happy"], ["calm"], ["sad"]] * 2,
         "instruments": [[0, 1], [1], [], [0], [1]] * 2},
        features=datasets.Features({
            "audio": cell, "moods": datasets.List(datasets.Value("string")),
            "instruments": datasets.List(datasets.ClassLabel(names=["guitar", "piano"]))}))
    out = standardize_splits(datasets.DatasetDict({"train": strings}), label_column=None,
                             tag_columns=["moods", "instruments"], validation_fraction=0.2,
                             test_fraction=0.2)
    assert (len(out["train"]), len(out["validation"]), len(out["test"])) == (6, 2, 2)
    features = out["train"].features
    assert "label" not in features
    assert features["moods"].feature.names == ["calm", "happy", "sad"]
    assert features["instruments"].feature.names == ["guitar", "piano"]
    every = datasets.concatenate_datasets([out[s] for s in out])
    pairs = sorted((tuple(features["moods"].feature.int2str(r["moods"])), tuple(r["instruments"]))
                   for r in every)
    assert pairs == sorted([(("sad", "calm"), (0, 1)), ((), (1,)), (("happy",), ()),
                            (("calm",), (0,)), (("sad",), (1,))] * 2)
    numbers = datasets.Dataset.from_dict({"audio": audio[:2], "moods": [[3], [4]]},
                                         features=datasets.Features({
                                             "audio": cell,
                                             "moods": datasets.List(datasets.Value("int64"))}))
    with pytest.raises(ValueError, match="tag columns hold lists of strings or of ClassLabel"):
        standardize_splits(datasets.DatasetDict({"train": numbers}), label_column=None,
                           tag_columns=["moods"])


def _metadata_root(root: Path, edit) -> Path:
    """An FMA metadata folder (no audio: manifests only) with ``edit`` applied to tracks."""
    (root / "fma_metadata").mkdir(parents=True)
    tracks = _tracks()
    edit(tracks)
    tracks.to_csv(root / "fma_metadata" / "tracks.csv")
    genres = pd.concat([GENRES, pd.DataFrame({"#tracks": [1], "parent": [0], "title": ["Folk"],
                                              "top_level": [17]}, index=pd.Index([17]))])
    genres.rename_axis("genre_id").to_csv(root / "fma_metadata" / "genres.csv")
    return root


def test_genre_tags_vocabulary_counts_training_tracks_only(tmp_path):
    def edit(tracks):
        split = tracks[("set", "split")]
        first_train = split[split == "training"].index[0]  # a Hip-Hop track
        first_test = split[split == "test"].index[0]
        tracks.loc[first_train, ("track", "genres_all")] = "[21, 25]"  # Punk: 4 train tracks
        tracks.loc[first_test, ("track", "genres_all")] = "[12, 17]"  # Folk: test only

    root = _metadata_root(tmp_path, edit)
    every = build_manifest("fma", {"root": str(root)})
    names = every.splits["train"].features["genres_all"].feature.names
    assert names == ["Hip-Hop", "Pop", "Punk", "Rock"]  # Folk is never a training tag
    assert [] not in every.splits["test"]["genres_all"]  # Folk dropped, Rock kept
    frequent = build_manifest("fma", {"root": str(root), "min_clips": 4})
    assert frequent.splits["train"].features["genres_all"].feature.names == ["Punk"]
    assert sum(map(len, frequent.splits["train"]["genres_all"])) == 4


def test_tracks_without_top_genre_kept_for_tagging_only(fma_root):
    manifest = build_manifest("fma", {"root": str(fma_root), "require_genre_top": False})
    assert manifest.dropped == {}
    train = manifest.splits["train"]
    assert len(train) == 10 and train["label"].count(-1) == 1
    assert train[train["label"].index(-1)]["genres_all"] == []
    prepared = PreparedData(dataset=manifest.splits, label_names=manifest.label_names)
    tagged = select_task(prepared, DataConfig(task="multi_label", label_column="genres_all"))
    assert len(tagged.dataset["train"]) == 10
    with pytest.raises(RecipeError, match="1 tracks of split 'train' have no class"):
        select_task(prepared, DataConfig())
