"""K-fold splits over a whole dataset, grouped so that nothing heard in training is tested.

A fixed split scores each model on one test set (134 moodgenre clips, 100 GTZAN tracks), and
its ±4-5 points per seed are as large as the differences a front-end study reports. Folds
test every track once: the union of train, validation and test is cut into ``count`` folds,
fold ``index`` is the test set, and the validation set is drawn from the other folds, so
settings are still chosen on tracks that are neither trained on nor tested.

What must not cross a fold boundary is a *group*: a track (its ``track_id``), and an artist
where the data has an ``artist`` column, since a model that has heard an artist's other songs
recognises the artist, not the genre (Flexer 2007's "artist filter"). Artist names are
normalised as datasets split by artist do (accents folded, case and punctuation dropped, a
leading "the" dropped), and a name that extends another by whole words ("bob marley" and
"bob marley the wailers", "sizzla" and "sizzla kalonji") joins its group: merging too much
only unbalances the folds, merging too little leaks. Groups go to folds largest first, each to
the fold with the fewest tracks so far (ties by a seeded shuffle), and :func:`check_no_leak`
refuses any assignment in which a group spans two parts.

A dataset whose splits are different *kinds* of clip (realmusic's short training excerpts
against whole test tracks) is not a candidate for folds: its fixed split is its protocol.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import numpy as np

from .manifest import SPLITS
from .prepare import PreparedData

GROUP_COLUMN = "artist"


class FoldLeakError(ValueError):
    """A track or artist would be in two parts (train, validation, test) of one fold."""


@dataclass(frozen=True)
class FoldSpec:
    """Fold ``index`` of ``count`` (``data.fold`` of a recipe: ``{count, index, seed,
    validation_fraction}``); ``validation_fraction`` of the other folds' groups validate."""

    count: int
    index: int
    seed: int = 0
    validation_fraction: float = 0.1

    def __post_init__(self) -> None:
        if self.count < 2 or not 0 <= self.index < self.count:
            raise ValueError(f"fold index {self.index} of {self.count}: need count >= 2 and "
                             f"0 <= index < count")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"fold validation_fraction must lie in (0, 1), got "
                             f"{self.validation_fraction}")


def normalised_artist(name: str) -> str:
    """``"The Sir Douglas Quintet + 2"`` → ``"sir douglas quintet 2"``."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", " ", folded.lower()).split()
    return " ".join(words[1:] if words[:1] == ["the"] and len(words) > 1 else words)


def artist_groups(artists: Sequence[str]) -> list[str]:
    """A group key per row: the normalised name, or the shorter name it extends by whole
    words (a chain of extensions shares its shortest member)."""
    names = sorted({normalised_artist(a) for a in artists}, key=len)
    root: dict[str, str] = {}
    for name in names:
        words = name.split()
        prefixes = (" ".join(words[:n]) for n in range(1, len(words)))
        root[name] = next((root[p] for p in prefixes if p in root), name)
    return [root[normalised_artist(a)] for a in artists]


def row_groups(table: datasets.Dataset) -> list[str]:
    """The group of every row: its artist's group where an ``artist`` column exists (rows
    without a name fall back to their track), else its ``track_id``."""
    tracks = [f"track:{t}" for t in table["track_id"]]
    if GROUP_COLUMN not in table.column_names:
        return tracks
    artists = table[GROUP_COLUMN]
    named = artist_groups([a for a in artists if a])
    keys = iter(named)
    return [f"artist:{next(keys)}" if a else t for a, t in zip(artists, tracks, strict=True)]


def assign_folds(groups: Sequence[str], count: int, seed: int) -> np.ndarray:
    """``(rows,)`` fold of every row: whole groups, largest first, each to the fold holding
    the fewest rows so far (see the module)."""
    names, sizes = np.unique(np.asarray(groups), return_counts=True)
    shuffled = np.random.default_rng(seed).permutation(len(names))
    order = shuffled[np.argsort(-sizes[shuffled], kind="stable")]
    load = np.zeros(count, dtype=np.int64)
    fold_of_group = {}
    for g in order:
        fold = int(np.argmin(load))
        fold_of_group[names[g]] = fold
        load[fold] += sizes[g]
    return np.array([fold_of_group[g] for g in groups], dtype=np.int64)


def check_no_leak(parts: dict[str, np.ndarray], groups: Sequence[str]) -> None:
    """Refuse parts (part name → row indices) that share a group or a row."""
    owner: dict[str, str] = {}
    for part, rows in parts.items():
        for row in rows.tolist():
            group = groups[row]
            if owner.setdefault(group, part) != part:
                raise FoldLeakError(f"{group} is in both {owner[group]} and {part}: a fold "
                                    f"must not test what it trained on")


def fold_dataset(dataset: datasets.DatasetDict, spec: FoldSpec) -> datasets.DatasetDict:
    """Train / validation / test of fold ``spec.index``, from the union of ``dataset``'s
    splits (rows keep every column, track ids included)."""
    union = datasets.concatenate_datasets([dataset[split] for split in SPLITS])
    groups = row_groups(union)
    fold = assign_folds(groups, spec.count, spec.seed)
    test = np.flatnonzero(fold == spec.index)
    rest = np.flatnonzero(fold != spec.index)
    rest_groups = sorted({groups[i] for i in rest.tolist()})
    rng = np.random.default_rng([spec.seed, spec.index])
    chosen = rng.permutation(len(rest_groups))[:max(1, round(spec.validation_fraction
                                                             * len(rest_groups)))]
    validating = {rest_groups[i] for i in chosen.tolist()}
    is_validation = np.array([groups[i] in validating for i in rest.tolist()], dtype=bool)
    parts = {"train": rest[~is_validation], "validation": rest[is_validation], "test": test}
    check_no_leak(parts, groups)
    return datasets.DatasetDict({name: union.select(rows) for name, rows in parts.items()})


def with_fold(prepared: PreparedData, fold: dict | None) -> PreparedData:
    """``prepared`` with its splits replaced by fold ``fold`` (``data.fold``; ``None``: as
    prepared). A streamed source has no training rows to regroup and is refused."""
    if fold is None:
        return prepared
    if prepared.stream is not None:
        raise ValueError("data.fold regroups every decoded track; a streamed training split "
                         "is not decoded (drop data.options.streaming to use folds)")
    return dataclasses.replace(prepared, dataset=fold_dataset(prepared.dataset, FoldSpec(**fold)))
