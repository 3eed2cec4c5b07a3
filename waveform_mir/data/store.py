"""The Arrow files of a cache entry: every audio sample is written to disk once.

``Dataset.map`` writes each shard of a split straight into ``<entry>/dataset/`` as final,
memory-mappable Arrow files (one per worker); a small ``<shard>.done.json`` marks the shard
finished and lists its files. Once every shard is done the entry's ``info.json`` records each
split's files and the markers go. Nothing is copied afterwards (``save_to_disk`` would write
all the audio a second time, doubling peak disk use), and loading memory-maps the very files
the decoders wrote.

A track that failed to decode stays in its shard as a row with no samples and its reason in
the ``error`` column; it costs a few bytes, and :func:`load_split` leaves it out.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import datasets
import numpy as np

DATA_DIR = "dataset"  # folder of an entry holding the Arrow files
_MARKER = ".done.json"


def shard_ranges(rows: int, shard_rows: int) -> list[tuple[int, int]]:
    """``[start, stop)`` row ranges of ``shard_rows`` rows covering ``rows`` rows."""
    return [(start, min(start + shard_rows, rows)) for start in range(0, rows, shard_rows)]


def shard_name(split: str, start: int, stop: int) -> str:
    """Named by its rows, so a re-run with another shard size never reuses the wrong rows."""
    return f"{split}-{start:08d}-{stop:08d}"


def finished_files(folder: Path, name: str) -> list[str] | None:
    """File names (relative to ``folder``) of finished shard ``name``; ``None`` if unfinished."""
    marker = folder / f"{name}{_MARKER}"
    return json.loads(marker.read_text()) if marker.is_file() else None


def mark_finished(folder: Path, name: str, files: list[str]) -> None:
    """Record shard ``name`` as finished with its ``files``, atomically (a kill mid-write
    leaves no half-written marker)."""
    marker = folder / f"{name}{_MARKER}"
    partial = folder / f"{name}.partial"
    partial.write_text(json.dumps(files))
    os.replace(partial, marker)


def discard_unfinished(folder: Path, shards: Iterable[str]) -> None:
    """Delete everything in ``folder`` but the finished ones among ``shards`` (names).

    What goes: files of shards an interrupted run did not finish, its temporary files, shards
    of another shard size, and the previous data of an entry being refreshed (its markers
    were dropped when it was completed), so a rebuild never holds two copies either.
    """
    keep = set()
    for name in shards:
        files = finished_files(folder, name)
        if files is not None:
            keep.update([*files, f"{name}{_MARKER}"])
    for path in folder.iterdir():
        if path.name in keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def drop_markers(folder: Path) -> None:
    """Remove the shard markers once the entry's ``info.json`` lists the files instead."""
    for marker in folder.glob(f"*{_MARKER}"):
        marker.unlink()


def open_rows(folder: Path, files: list[str], features: datasets.Features) -> datasets.Dataset:
    """All rows of one split (failed ones included), memory-mapped from its files in order."""
    if not files:
        return datasets.Dataset.from_dict({name: [] for name in features}, features=features)
    return datasets.concatenate_datasets(
        [datasets.Dataset.from_file(str(folder / name)) for name in files])


def error_reasons(rows: datasets.Dataset) -> np.ndarray:
    """The ``error`` column ``(rows,)`` as strings: empty where the track decoded."""
    return np.asarray(rows.with_format("numpy")["error"], dtype=str)


def load_split(folder: Path, files: list[str], features: datasets.Features) -> datasets.Dataset:
    """The rows of one split that decoded, without the ``error`` column; no audio is copied
    (failed rows are hidden by an in-memory index, not by rewriting the files)."""
    rows = open_rows(folder, files, features)
    failed = error_reasons(rows) != ""
    if failed.any():
        rows = rows.select(np.flatnonzero(~failed), keep_in_memory=True)
    return rows.remove_columns("error")
