"""What a run learns from prepared data: the class of one column, or the tags of one column.

The cache keeps every label column a source offers, the single-label ``label`` and tag
columns such as FMA's ``genres_all`` (:mod:`.labels`), because the decoded audio does not
depend on which of them a run learns: the genres and the moods of one folder share one cache
entry. A recipe's ``data.task`` and ``data.label_column`` pick one column after preparation:

* ``single_label``: a ``ClassLabel`` column; targets ``(N,)`` int64 class ids; softmax.
* ``multi_label``: a tag column, ``List(ClassLabel)``; targets ``(N, num_tags)`` float32
  multi-hot; one sigmoid per tag.

:func:`select_task` hands the rest of the package the ``PreparedData`` it already reads: the
chosen column *as* ``label`` (renamed, no audio copied) and its class or tag names as
``label_names``; the loader reads the task off the column's type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import datasets

from ..config import DataConfig, RecipeError
from .labels import feature_names, is_class_feature, is_tag_feature, label_targets
from .prepare import PreparedData

# Each task: the test its column's feature must pass, and what such a column holds, in words.
TASK_FEATURES: dict[str, tuple[Callable[[object], bool], str]] = {
    "single_label": (is_class_feature, "class ids (ClassLabel)"),
    "multi_label": (is_tag_feature, "tag lists (List(ClassLabel))"),
}


@dataclass(frozen=True)
class LabelTask:
    """The task of a run: ``kind`` (single_label | multi_label), the dataset ``column`` it
    learns, and that column's class or tag ``names`` (id = position)."""

    kind: str
    column: str
    names: tuple[str, ...]

    @property
    def multi_label(self) -> bool:
        return self.kind == "multi_label"


def _holds(feature: object) -> str:
    return next((words for test, words in TASK_FEATURES.values() if test(feature)),
                repr(feature))


def _columns_by_kind(features: datasets.Features) -> str:
    return "; ".join(f"{words}: {[name for name, f in features.items() if test(f)]}"
                     for test, words in TASK_FEATURES.values())


def resolve_task(config: DataConfig, features: datasets.Features) -> LabelTask:
    """Check that ``config.label_column`` exists in ``features`` and fits ``config.task``.

    ``features`` may be a manifest's (before decoding, so a wrong column fails in seconds)
    or a prepared split's. Raises :class:`~waveform_mir.config.RecipeError` naming the
    columns that would fit.
    """
    if config.task not in TASK_FEATURES:
        raise RecipeError(f"unknown data.task '{config.task}'; choose from {list(TASK_FEATURES)}")
    column = config.label_column
    feature = features.get(column)
    if feature is None:
        raise RecipeError(f"data.label_column '{column}' is not in the data; columns with "
                          f"{_columns_by_kind(features)}")
    accepts, wanted = TASK_FEATURES[config.task]
    if not accepts(feature):
        raise RecipeError(f"data.task {config.task} needs a column of {wanted}, but "
                          f"'{column}' holds {_holds(feature)}; columns with "
                          f"{_columns_by_kind(features)}")
    return LabelTask(config.task, column, tuple(feature_names(feature)))


def _as_label(split: datasets.Dataset, column: str) -> datasets.Dataset:
    """``split`` with ``column`` renamed to ``label`` (the old ``label`` dropped); Arrow
    columns are renamed in place, so the memory-mapped audio is not copied."""
    if column == "label":
        return split
    if "label" in split.column_names:
        split = split.remove_columns("label")
    return split.rename_column(column, "label")


def _check_every_track_labelled(splits: dict[str, datasets.Dataset], column: str) -> None:
    """Single-label training needs a class per track; FMA keeps tracks without a top genre
    (``-1``) when asked to, for tagging only."""
    for name, split in splits.items():
        missing = int((label_targets(split) < 0).sum())
        if missing:
            raise RecipeError(f"{missing} tracks of split '{name}' have no class in "
                              f"'{column}'; single-label training needs one per track (for "
                              "fma, keep require_genre_top: true)")


def select_task(prepared: PreparedData, config: DataConfig) -> PreparedData:
    """``prepared`` with ``config.label_column`` as its ``label`` column and its class or
    tag names as ``label_names``; see the module docstring. (Training rows that a streamed
    source reads undecoded do not pass through here: their reader takes ``task.column``.)
    """
    task = resolve_task(config, prepared.dataset["train"].features)
    splits = {name: _as_label(split, task.column) for name, split in prepared.dataset.items()}
    if not task.multi_label:
        _check_every_track_labelled(splits, task.column)
    return dataclasses.replace(prepared, dataset=datasets.DatasetDict(splits),
                               label_names=list(task.names))
