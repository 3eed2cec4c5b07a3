"""The manifest: what every dataset builder hands to the cache before any audio is decoded.

Builders (synthetic, folder, FMA, Hub) differ only in where rows come from; decoding, skipping
bad files and caching are shared. A manifest therefore holds one row per track — ``track_id``,
an integer ``label`` (a ``ClassLabel`` carrying the genre names; absent for a source with tags
only), any tag columns (:mod:`.labels`: a list of tag ids per track) and whatever the renderer
needs (a ``path``, the file's bytes, a synthesis seed) — plus the ``render`` callable that turns
one row into a waveform. ``render`` must be picklable (a module-level function or a
``functools.partial`` of one) because the cache maps it over rows in worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import datasets
import numpy as np

from .audio import decode_audio
from .loudness import Loudness

SPLITS = ("train", "validation", "test")

Render = Callable[[dict[str, Any], int], np.ndarray]


@dataclass
class Manifest:
    """Rows per split (no audio yet) and the function that renders a row to a waveform.

    ``drop_columns`` are render inputs not worth keeping next to the waveform (raw bytes,
    seeds); ``dropped`` counts rows a builder removed before decoding, by reason, so that the
    summary can say why a dataset is smaller than its metadata.
    """

    splits: datasets.DatasetDict
    render: Render
    drop_columns: tuple[str, ...] = ()
    dropped: dict[str, int] = field(default_factory=dict)

    @property
    def label_names(self) -> list[str]:
        """The single-label class names; none for a source with tags only."""
        feature = self.splits["train"].features.get("label")
        return list(feature.names) if feature is not None else []


def render_file(
    row: dict[str, Any],
    sample_rate: int,
    *,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Renderer for builders whose rows carry a ``path`` to an audio file."""
    return decode_audio(
        row["path"], sample_rate, min_seconds=min_seconds, max_seconds=max_seconds
    )


def render_normalised(row: dict[str, Any], sample_rate: int, *, render: Render,
                      loudness: Loudness) -> np.ndarray:
    """``render``'s waveform levelled by ``loudness`` (see :mod:`.loudness`)."""
    return loudness(render(row, sample_rate), sample_rate)


def normalised(render: Render, loudness: Loudness) -> Render:
    """A picklable renderer that levels every track ``render`` produces."""
    return partial(render_normalised, render=render, loudness=loudness)


def file_renderer(min_seconds: float = 0.0, max_seconds: float | None = None) -> Render:
    """A picklable :func:`render_file` with the builder's duration limits bound."""
    return partial(render_file, min_seconds=min_seconds, max_seconds=max_seconds)


def build_splits(
    rows: dict[str, dict[str, list]],
    label_names: Sequence[str] | None,
    extra_features: dict[str, Any] | None = None,
) -> datasets.DatasetDict:
    """Columns per split → a ``DatasetDict`` with ``label`` as a ``ClassLabel``.

    ``rows[split]`` maps column names to lists; ``label`` may hold names or ids, and tag
    columns (typed by :func:`~.labels.tag_feature` in ``extra_features``) lists of tag names.
    ``label_names=None`` builds no ``label`` column (a source with tags only). Every split in
    :data:`SPLITS` is present (possibly empty) so consumers never test for a missing split.
    """
    label = {} if label_names is None else {"label": datasets.ClassLabel(names=list(label_names))}
    features = datasets.Features(
        {"track_id": datasets.Value("string"), **label, **(extra_features or {})})
    index = {name: i for i, name in enumerate(label_names or ())}
    out = {}
    for split in SPLITS:
        columns = dict(rows.get(split) or {name: [] for name in features})
        if label:
            columns["label"] = [index.get(v, v) for v in columns["label"]]
        out[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(out)


def stratified_assignment(
    labels: Sequence[Any], fractions: dict[str, float], seed: int
) -> list[str]:
    """Assign each row a split so that every class is divided in the given proportions.

    ``fractions`` maps split names to shares of each class (e.g. validation 0.1, test 0.2); the
    rest goes to ``train``. Within a class the order is a seeded shuffle, so the same seed
    always gives the same split, and each split of a class gets ``round(n * share)`` rows.
    """
    rng = np.random.default_rng(seed)
    assigned = ["train"] * len(labels)
    by_class: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    for label in sorted(by_class, key=str):
        members = rng.permutation(by_class[label])
        start = 0
        for split, share in fractions.items():
            count = int(round(len(members) * share))
            for i in members[start : start + count]:
                assigned[i] = split
            start += count
    return assigned
