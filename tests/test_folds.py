"""K-fold splits: every track tested once, no artist in two parts of a fold, leaks refused."""

from __future__ import annotations

import datasets
import numpy as np
import pytest

from waveform_mir.data import FoldLeakError, FoldSpec
from waveform_mir.data.folds import (
    artist_groups,
    assign_folds,
    check_no_leak,
    fold_dataset,
    normalised_artist,
    row_groups,
)

ARTISTS = ["Bob Marley", "Bob Marley & the Wailers", "Sizzla", "Sizzla Kalonji", "Björk",
           "bjork", "The Beatles", "Beatles", "Miles Davis", "Nina Simone", "", "Can"]


def _groups_by_track(data: datasets.DatasetDict) -> dict[str, str]:
    """Each track's group, computed over the union as fold_dataset computes it."""
    union = datasets.concatenate_datasets(list(data.values()))
    return dict(zip(union["track_id"], row_groups(union), strict=True))


def _dataset(rows: int = 60, seed: int = 0) -> datasets.DatasetDict:
    """Rows over the artists above (one without a name), spread over three splits."""
    rng = np.random.default_rng(seed)
    artists = [ARTISTS[i] for i in rng.integers(0, len(ARTISTS), rows)]
    table = {"track_id": [f"t{i}" for i in range(rows)], "artist": artists,
             "label": rng.integers(0, 3, rows).tolist()}
    splits = np.array_split(np.arange(rows), 3)
    return datasets.DatasetDict({
        name: datasets.Dataset.from_dict({k: [v[i] for i in part] for k, v in table.items()})
        for name, part in zip(("train", "validation", "test"), splits, strict=True)})


def test_artist_names_are_normalised_and_extensions_merged():
    assert normalised_artist("The Sir Douglas Quintet + 2") == "sir douglas quintet 2"
    assert normalised_artist("Björk") == normalised_artist("bjork") == "bjork"
    groups = dict(zip(ARTISTS, artist_groups(ARTISTS), strict=True))
    assert groups["Bob Marley & the Wailers"] == groups["Bob Marley"]
    assert groups["Sizzla Kalonji"] == groups["Sizzla"]
    assert groups["The Beatles"] == groups["Beatles"] and groups["Can"] != groups["Beatles"]
    assert len({groups[a] for a in ARTISTS if a}) == 7


def test_every_track_is_tested_once_and_no_artist_crosses_a_fold():
    data = _dataset()
    every = [row for split in data.values() for row in split["track_id"]]
    group = _groups_by_track(data)
    tested = []
    for index in range(4):
        fold = fold_dataset(data, FoldSpec(count=4, index=index, validation_fraction=0.25))
        parts = {name: set(fold[name]["track_id"]) for name in fold}
        assert set().union(*parts.values()) == set(every)  # the union, regrouped
        assert len(fold["validation"]) > 0 and len(fold["train"]) > 0
        for name, split in fold.items():  # artists (named ones) stay in their part
            for other in set(fold) - {name}:
                shared = ({group[t] for t in split["track_id"]}
                          & {group[t] for t in fold[other]["track_id"]})
                assert not shared, (name, other, shared)
        tested += fold["test"]["track_id"]
    assert sorted(tested) == sorted(every)  # each track tested exactly once


def test_groups_fill_folds_evenly_and_seeds_change_the_split():
    groups = [f"g{i}" for i in range(40) for _ in range(1 + i % 3)]
    fold = assign_folds(groups, 5, seed=0)
    counts = np.bincount(fold, minlength=5)
    assert counts.max() - counts.min() <= 3
    assert not np.array_equal(fold, assign_folds(groups, 5, seed=1))
    for group in set(groups):
        assert len({fold[i] for i, g in enumerate(groups) if g == group}) == 1


def test_a_leaking_assignment_is_refused():
    groups = ["artist:a", "artist:a", "artist:b", "track:c"]
    check_no_leak({"train": np.array([0, 1]), "test": np.array([2, 3])}, groups)
    with pytest.raises(FoldLeakError, match="artist:a is in both train and test"):
        check_no_leak({"train": np.array([0, 2]), "test": np.array([1, 3])}, groups)
    with pytest.raises(ValueError, match="index 5 of 5"):
        FoldSpec(count=5, index=5)


def test_real_moodgenre_folds_keep_artists_apart(moodgenre):
    import pandas as pd

    table = pd.read_csv(moodgenre / "labels.csv", dtype=str, keep_default_na=False)
    data = datasets.DatasetDict({name: datasets.Dataset.from_pandas(
        part[["track_id", "artist"]], preserve_index=False)
        for name, part in table.groupby("split")})
    group = _groups_by_track(data)
    tested = []
    for index in range(5):
        fold = fold_dataset(data, FoldSpec(count=5, index=index))
        seen = {group[t] for part in ("train", "validation") for t in fold[part]["track_id"]}
        assert not seen & {group[t] for t in fold["test"]["track_id"]}
        tested += fold["test"]["track_id"]
    assert sorted(tested) == sorted(table["track_id"])
    assert 0.15 < len(fold["test"]) / len(table) < 0.25
