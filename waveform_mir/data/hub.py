"""Builder ``hub``: an audio classification dataset from the Hugging Face Hub.

Hub datasets name their columns and splits freely; :func:`standardize_splits` maps them onto
this package's schema (``audio`` as undecoded bytes/path, ``label`` as a ``ClassLabel``,
``track_id``; splits train/validation/test). Audio stays undecoded here (``Audio(decode=False)``)
so that decoding goes through :func:`~waveform_mir.data.audio.decode_audio` like every other
source, with the same resampling and the same skip-and-report handling of bad files.

Multi-label Hub datasets name their list columns in ``tag_columns``: lists of strings (the
vocabulary is every tag seen) or of ``ClassLabel`` ids (their names are kept) become tag
columns (:mod:`.labels`); ``label_column=None`` reads a dataset with tags only. Tag columns
are read from map-style (downloaded) datasets only.

``streaming=True`` returns lazily streamed splits for datasets too large to cache; they are
consumed by :class:`~waveform_mir.data.loader.StreamingCropDataset` rather than the cache.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import datasets
import numpy as np

from .audio import decode_audio
from .labels import is_tag_feature, tag_feature, tag_vocabulary
from .manifest import SPLITS, Manifest
from .registry import register_builder

DEFAULT_SPLIT_MAP = {"train": "train", "validation": "validation", "valid": "validation",
                     "val": "validation", "test": "test"}

AnyDict = datasets.DatasetDict | datasets.IterableDatasetDict


def render_audio_cell(
    row: dict[str, Any],
    sample_rate: int,
    *,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> np.ndarray:
    """Renderer for rows whose ``audio`` cell is ``{"bytes": ..., "path": ...}``."""
    cell = row["audio"]
    source = cell.get("bytes") or cell.get("path")
    return decode_audio(
        source or b"", sample_rate, name=cell.get("path") or row.get("track_id"),
        min_seconds=min_seconds, max_seconds=max_seconds,
    )


def _label_names(loaded: AnyDict, label_column: str, given: list[str] | None) -> list[str]:
    """Genre names: given, else the ``ClassLabel``'s, else the sorted distinct values."""
    if given:
        return list(given)
    feature = next(iter(loaded.values())).features[label_column]
    if isinstance(feature, datasets.ClassLabel):
        return list(feature.names)
    if any(isinstance(split, datasets.IterableDataset) for split in loaded.values()):
        raise ValueError(
            f"streamed column '{label_column}' is not a ClassLabel; pass label_names"
        )
    values = set()
    for split in loaded.values():
        values.update(str(v) for v in split.unique(label_column))
    return sorted(values)


def _cast_tag_columns(selected: dict[str, datasets.Dataset], tag_columns: tuple[str, ...]
                      ) -> dict[str, datasets.Dataset]:
    """Hub list columns → tag columns: ``ClassLabel`` lists as they are, string lists typed
    with the sorted vocabulary of every split's tags."""
    if any(isinstance(split, datasets.IterableDataset) for split in selected.values()):
        raise ValueError("tag_columns need a map-style Hub dataset; set streaming: false")
    for column in tag_columns:
        feature = selected["train"].features[column]
        if is_tag_feature(feature):
            continue
        if feature != datasets.List(datasets.Value("string")):
            raise ValueError(f"tag column '{column}' holds {feature}; tag columns hold lists of "
                             "strings or of ClassLabel ids")
        vocabulary = tag_vocabulary(tags for split in selected.values() for tags in split[column])
        selected = {key: split.cast_column(column, tag_feature(vocabulary))
                    for key, split in selected.items()}
    return selected


def _to_schema(
    split: datasets.Dataset | datasets.IterableDataset,
    audio_column: str,
    label_column: str | None,
    id_column: str | None,
    names: list[str] | None,
    original_names: list[str] | None,
    tag_columns: tuple[str, ...] = (),
):
    """One split → columns ``audio`` (undecoded), ``label`` (ClassLabel ids; none when
    ``label_column`` is ``None``), ``track_id`` and the tag columns (typed already)."""
    index = {name: i for i, name in enumerate(names or ())}

    def convert(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        ids = batch[id_column] if id_column else indices
        out = {"track_id": [str(i) for i in ids]}
        if label_column:
            raw = batch[label_column]
            as_names = ([original_names[v] for v in raw] if original_names
                        else [str(v) for v in raw])
            out["label"] = [index[n] for n in as_names]
        return out

    split = split.cast_column(audio_column, datasets.Audio(decode=False))
    if audio_column != "audio":
        split = split.rename_column(audio_column, "audio")
    keep = {"audio", *tag_columns} | {c for c in (label_column, id_column) if c}
    split = split.remove_columns([c for c in split.column_names if c not in keep])
    label = {"label": datasets.ClassLabel(names=names)} if label_column else {}
    features = datasets.Features({
        "audio": datasets.Audio(decode=False),
        **label,
        "track_id": datasets.Value("string"),
        **{column: split.features[column] for column in tag_columns},
    })
    drop = [c for c in {label_column, id_column} if c and c != "audio"]
    return split.map(convert, batched=True, with_indices=True, remove_columns=drop,
                     features=features)


def standardize_splits(
    loaded: AnyDict,
    *,
    audio_column: str = "audio",
    label_column: str | None = "label",
    split_map: dict[str, str] | None = None,
    id_column: str | None = None,
    label_names: list[str] | None = None,
    tag_columns: list[str] | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
) -> AnyDict:
    """Rename, re-split and re-type a Hub ``DatasetDict`` to the package schema.

    ``split_map`` maps Hub split names to train/validation/test (unmapped splits are ignored).
    A missing validation or test split is carved from train, stratified by label (when there
    is one) and seeded; that is impossible for streamed data, which must then provide all
    three. ``tag_columns``: see the module docstring.
    """
    mapping = split_map or DEFAULT_SPLIT_MAP
    selected = {mapping[name]: split for name, split in loaded.items() if name in mapping}
    if "train" not in selected:
        raise ValueError(f"no train split: Hub splits {list(loaded)}, split_map {mapping}")
    tags = tuple(tag_columns or ())
    if tags:
        selected = _cast_tag_columns(selected, tags)
    original, names = None, None
    if label_column:
        feature = selected["train"].features[label_column]
        original = list(feature.names) if isinstance(feature, datasets.ClassLabel) else None
        names = _label_names(datasets.DatasetDict(selected) if not isinstance(
            selected["train"], datasets.IterableDataset) else datasets.IterableDatasetDict(
            selected), label_column, label_names)
    out = {key: _to_schema(split, audio_column, label_column, id_column, names, original, tags)
           for key, split in selected.items()}
    streaming = isinstance(out["train"], datasets.IterableDataset)
    missing = {"validation": validation_fraction, "test": test_fraction}
    for key, share in missing.items():
        if key in out:
            continue
        if streaming:
            raise ValueError(f"streamed Hub dataset has no '{key}' split; add it to split_map")
        parts = out["train"].train_test_split(
            test_size=share, stratify_by_column="label" if label_column else None, seed=seed)
        out["train"], out[key] = parts["train"], parts["test"]
    container = datasets.IterableDatasetDict if streaming else datasets.DatasetDict
    return container({key: out[key] for key in SPLITS})


@register_builder("hub")
def hub_manifest(
    dataset_id: str,
    audio_column: str = "audio",
    label_column: str | None = "label",
    split_map: dict[str, str] | None = None,
    streaming: bool = False,
    config_name: str | None = None,
    revision: str | None = None,
    id_column: str | None = None,
    label_names: list[str] | None = None,
    tag_columns: list[str] | None = None,
    validation_fraction: float = 0.1,
    test_fraction: float = 0.1,
    seed: int = 0,
    min_seconds: float = 0.0,
    max_seconds: float | None = None,
) -> Manifest:
    """Builder ``hub``: ``load_dataset(dataset_id)`` mapped by :func:`standardize_splits`."""
    loaded = datasets.load_dataset(
        dataset_id, config_name, revision=revision, streaming=streaming
    )
    splits = standardize_splits(
        loaded, audio_column=audio_column, label_column=label_column, split_map=split_map,
        id_column=id_column, label_names=label_names, tag_columns=tag_columns,
        validation_fraction=validation_fraction, test_fraction=test_fraction, seed=seed,
    )
    render = partial(render_audio_cell, min_seconds=min_seconds, max_seconds=max_seconds)
    return Manifest(splits, render, drop_columns=("audio",))
