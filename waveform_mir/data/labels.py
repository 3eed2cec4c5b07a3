"""Label columns: single-label class ids and multi-label tag lists, and the targets they give.

A track has at most one single label (``label``, a ``ClassLabel``: one genre id, ``-1`` where
the source has none) and any number of *tag columns* (genres, moods, instruments): each a
``List(ClassLabel(names=tags))`` holding the ids of the tags a track carries, in any order,
without repeats. The tag names live in the feature, exactly as class names live in a
``ClassLabel``, so they travel through the manifest, the Arrow cache and its ``info.json``
with no side file. A list of ids costs a few bytes per track whatever the vocabulary size,
and the loader turns it into the dense multi-hot target a loss needs (:func:`label_targets`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import datasets
import numpy as np

TAG_SEPARATOR = ";"


def tag_feature(names: Sequence[str]) -> datasets.List:
    """The feature of a tag column whose vocabulary is ``names`` (id = position)."""
    return datasets.List(datasets.ClassLabel(names=list(names)))


def is_class_feature(feature: object) -> bool:
    """Whether ``feature`` holds one class id per track (a single-label column)."""
    return isinstance(feature, datasets.ClassLabel)


def is_tag_feature(feature: object) -> bool:
    """Whether ``feature`` holds a list of tag ids per track (a multi-label column)."""
    return isinstance(feature, datasets.List) and isinstance(feature.feature,
                                                             datasets.ClassLabel)


def feature_names(feature: datasets.ClassLabel | datasets.List) -> list[str]:
    """Class names of a single-label column, tag names of a tag column."""
    return list(feature.feature.names if is_tag_feature(feature) else feature.names)


def split_tags(cell: object, separator: str = TAG_SEPARATOR) -> list[str]:
    """``"rock; pop;;rock"`` → ``["rock", "pop"]``: stripped, no empties, first occurrence
    kept; a missing cell (``None``, NaN) has no tags."""
    if not isinstance(cell, str):
        return []
    return list(dict.fromkeys(tag.strip() for tag in cell.split(separator) if tag.strip()))


def tag_vocabulary(tag_lists: Iterable[Sequence[str]], min_clips: int = 1) -> list[str]:
    """Sorted tags carried by at least ``min_clips`` of the lists (each list counts a tag
    once)."""
    counts = Counter(tag for tags in tag_lists for tag in set(tags))
    return sorted(tag for tag, count in counts.items() if count >= min_clips)


def keep_known(tag_lists: Iterable[Sequence[str]], vocabulary: Sequence[str]
               ) -> list[list[str]]:
    """Each list without the tags outside ``vocabulary`` (rare tags a builder pruned)."""
    known = set(vocabulary)
    return [[tag for tag in tags if tag in known] for tags in tag_lists]


def multi_hot(lengths: np.ndarray, tag_ids: np.ndarray, num_tags: int) -> np.ndarray:
    """Ragged tag ids → dense targets.

    Args:
        lengths: (rows,) number of tags of each row.
        tag_ids: (sum(lengths),) the rows' tag ids, row after row.
        num_tags: vocabulary size.

    Returns:
        (rows, num_tags) float32, 1.0 where a row carries a tag.
    """
    out = np.zeros((len(lengths), num_tags), dtype=np.float32)
    out[np.repeat(np.arange(len(lengths)), lengths), tag_ids] = 1.0
    return out


def _class_targets(split: datasets.Dataset, column: str) -> np.ndarray:
    """(rows,) int64 class ids of a single-label column."""
    return np.asarray(split.with_format("numpy")[column], dtype=np.int64).reshape(-1)


def _tag_targets(split: datasets.Dataset, column: str) -> np.ndarray:
    """(rows, num_tags) float32 multi-hot of a tag column, read through Arrow (no per-row
    Python objects; the rows' indices mapping is honoured, the audio never touched)."""
    table = split.select_columns([column]).with_format("arrow")[:]
    lists = table.column(0).combine_chunks()
    lengths = lists.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
    ids = lists.flatten().to_numpy(zero_copy_only=False).astype(np.int64)
    return multi_hot(lengths.astype(np.int64), ids, len(feature_names(split.features[column])))


_TARGETS: dict[Callable[[object], bool], Callable[[datasets.Dataset, str], np.ndarray]] = {
    is_class_feature: _class_targets,
    is_tag_feature: _tag_targets,
}


def label_targets(split: datasets.Dataset, column: str = "label") -> np.ndarray:
    """The training targets of ``column``, read from its feature type.

    Returns:
        (rows,) int64 class ids for a ``ClassLabel`` column, or (rows, num_tags) float32
        multi-hot for a tag column.
    """
    feature = split.features.get(column)
    for accepts, targets in _TARGETS.items():
        if accepts(feature):
            return targets(split, column)
    raise TypeError(f"column {column!r} is {feature!r}: neither class ids (ClassLabel) nor tag "
                    "lists (List(ClassLabel))")
