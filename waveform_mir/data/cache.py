"""Decode a manifest once into an Arrow store that every later epoch and run memory-maps.

Decoding MP3 is by far the slowest step of training on raw audio, so it happens once per
(source, options, sample rate): ``datasets.Dataset.map`` renders rows to waveforms in
``num_proc`` worker processes and writes them with a small ``writer_batch_size`` so memory
stays flat even for 30 s clips. Audio is stored as 16-bit PCM (:mod:`.pcm`), 2 bytes a
sample, and read back as float32 only crop by crop (:class:`~.loader.WaveformColumn`). Rows
are processed in shards, each written once, straight to its final Arrow file(s), and marked
done (:mod:`.store`), so an interrupted preparation of a 100k-track dataset resumes after the
last finished shard instead of starting over, and disk never holds the audio twice. When
every split is done, ``skipped.csv`` and, last, ``info.json`` (which lists each split's
files) mark the cache complete.

Layout of one cache entry::

    <cache_root>/<source>-<key>/dataset/     <split>-<rows>[_<worker>_of_<n>].arrow files
    <cache_root>/<source>-<key>/skipped.csv  split, track_id, file, reason of each skipped file
    <cache_root>/<source>-<key>/info.json    what was built, label names, drop counts, files
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import datasets
import numpy as np

from .audio import AudioDecodeError
from .manifest import SPLITS, Manifest, Render
from .pcm import to_pcm16
from .store import (
    DATA_DIR,
    discard_unfinished,
    drop_markers,
    error_reasons,
    finished_files,
    load_split,
    mark_finished,
    open_rows,
    shard_name,
    shard_ranges,
)

CACHE_FORMAT = 4  # bump when the stored layout or decoding changes, to invalidate old caches
# 3: label columns typed as class ids or tag lists (FMA genres_all was a list of strings)
# 4: a folder's labels.csv artist column is kept (K-fold splits group by it, see .folds)
WRITER_BATCH_SIZE = 16  # rows per Arrow record batch: ~15 MB of int16 for 30 s at 16 kHz
SHARD_ROWS_PER_PROC = 256  # rows per shard and worker: the unit of progress and of resuming

Skipped = tuple[str, str]  # (file or track id, reason)


def default_cache_root() -> Path:
    """``$WAVEFORM_MIR_CACHE``, else ``~/.cache/waveform_mir``."""
    return Path(os.environ.get("WAVEFORM_MIR_CACHE") or Path.home() / ".cache" / "waveform_mir")


def cache_key(source: str, options: dict[str, Any], sample_rate: int,
              loudness: dict[str, Any] | None = None) -> str:
    """A stable hash of what determines the decoded audio (independent of dict order)."""
    payload = {"format": CACHE_FORMAT, "source": source, "options": options,
               "sample_rate": sample_rate, "loudness": loudness}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def cache_entry(root: Path, source: str, options: dict[str, Any], sample_rate: int,
                loudness: dict[str, Any] | None = None) -> Path:
    return root / f"{source}-{cache_key(source, options, sample_rate, loudness)}"


def is_complete(entry: Path) -> bool:
    return (entry / "info.json").is_file() and (entry / DATA_DIR).is_dir()


def load_entry(entry: Path) -> tuple[datasets.DatasetDict, dict[str, Any], list[Skipped]]:
    """A finished cache entry → (memory-mapped splits, info, skipped files)."""
    info = json.loads((entry / "info.json").read_text())
    with (entry / "skipped.csv").open(newline="") as handle:
        skipped = [(row["file"], row["reason"]) for row in csv.DictReader(handle)]
    splits = {
        split: load_split(entry / DATA_DIR, info["files"][split],
                          datasets.Features.from_dict(info["features"][split]))
        for split in SPLITS
    }
    return datasets.DatasetDict(splits), info, skipped


def decode_batch(
    batch: dict[str, list], *, render: Render, sample_rate: int, drop: tuple[str, ...]
) -> dict[str, list]:
    """``map`` function: render each row; a failure becomes an empty waveform and a reason.

    Any exception is recorded rather than raised, so that one odd file never aborts a long
    preparation; :func:`decode_manifest` refuses the result if *every* file failed.
    """
    size = len(batch["track_id"])
    waveforms, errors = [], []
    for i in range(size):
        row = {name: values[i] for name, values in batch.items()}
        try:
            waveforms.append(render(row, sample_rate))
            errors.append("")
        except AudioDecodeError as error:
            waveforms.append(np.zeros(0, np.float32))
            errors.append(error.reason)
        except Exception as error:  # noqa: BLE001 - reported per file, see docstring
            waveforms.append(np.zeros(0, np.float32))
            errors.append(f"unexpected {type(error).__name__}: {error}")
    out = {name: values for name, values in batch.items() if name not in drop}
    out.update(waveform=waveforms, error=errors)
    return out


def encode_batch(
    batch: dict[str, list], *, render: Render, sample_rate: int, drop: tuple[str, ...]
) -> dict[str, list]:
    """``map`` function: :func:`decode_batch`, then every waveform ``(samples,)`` as int16
    PCM (:func:`~.pcm.to_pcm16`), the form the cache stores at 2 bytes a sample."""
    out = decode_batch(batch, render=render, sample_rate=sample_rate, drop=drop)
    out["waveform"] = [to_pcm16(wave) for wave in out["waveform"]]
    return out


def decoded_features(
    manifest_features: datasets.Features, drop: tuple[str, ...]
) -> datasets.Features:
    kept = {name: f for name, f in manifest_features.items() if name not in drop}
    return datasets.Features(
        {**kept, "waveform": datasets.List(datasets.Value("int16")),
         "error": datasets.Value("string")}
    )


@contextmanager
def _quiet_datasets():
    """Hide ``datasets``' own per-map bars while one overall progress bar is shown."""
    was_enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if was_enabled:
            datasets.enable_progress_bars()


Shard = tuple[str, int, int]  # (name, first row, row after the last)


def planned_shards(manifest: Manifest, num_proc: int) -> dict[str, list[Shard]]:
    """Each split's shards: ``SHARD_ROWS_PER_PROC`` rows per worker, so every worker of a
    shard has a full share and progress advances in even steps."""
    shard_rows = SHARD_ROWS_PER_PROC * max(1, num_proc)
    return {
        split: [(shard_name(split, start, stop), start, stop)
                for start, stop in shard_ranges(len(manifest.splits[split]), shard_rows)]
        for split in SPLITS
    }


def decode_split(
    rows: datasets.Dataset,
    shards: list[Shard],
    features: datasets.Features,
    manifest: Manifest,
    sample_rate: int,
    folder: Path,
    num_proc: int,
    advance: Callable[[int], None],
) -> list[str]:
    """Decode one split's ``shards`` into their final files in ``folder``; finished shards
    (from an interrupted run) are reused. Returns the split's file names in row order."""
    kwargs = {"render": manifest.render, "sample_rate": sample_rate,
              "drop": manifest.drop_columns}
    files = []
    for name, start, stop in shards:
        done = finished_files(folder, name)
        if done is None:
            part = rows.select(range(start, stop))
            workers = min(num_proc, len(part))
            decoded = part.map(
                encode_batch, batched=True, batch_size=WRITER_BATCH_SIZE, fn_kwargs=kwargs,
                writer_batch_size=WRITER_BATCH_SIZE, num_proc=workers if workers > 1 else None,
                remove_columns=part.column_names, features=features,
                cache_file_name=str(folder / f"{name}.arrow"), new_fingerprint=name,
                load_from_cache_file=False,
            )
            done = [Path(f["filename"]).name for f in decoded.cache_files]
            mark_finished(folder, name, done)
        files.extend(done)
        advance(stop - start)
    return files


def failure_records(rows: datasets.Dataset) -> list[dict[str, str]]:
    """One record (``track_id``, ``file``, ``reason``) per row whose rendering failed."""
    reasons = error_reasons(rows)
    bad = np.flatnonzero(reasons != "")
    meta = rows.select_columns([c for c in ("track_id", "path") if c in rows.column_names])
    return [
        {"track_id": row["track_id"], "file": row.get("path", row["track_id"]),
         "reason": str(reasons[i])}
        for i, row in zip(bad, meta.select(bad), strict=True)
    ]


def write_entry(
    entry: Path,
    files: dict[str, list[str]],
    features: dict[str, datasets.Features],
    failures: dict[str, list[dict[str, str]]],
    info: dict[str, Any],
) -> None:
    """Write the skipped-file report and, last, ``info.json`` (with each split's files and
    features), which marks the entry complete and replaces the shard markers."""
    with (entry / "skipped.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["split", "track_id", "file", "reason"])
        writer.writeheader()
        for split, records in failures.items():
            writer.writerows({"split": split, **record} for record in records)
    # Markers go first: a kill before info.json then rebuilds rather than mistaking the data
    # of a finished entry for shards to reuse when it is refreshed.
    drop_markers(entry / DATA_DIR)
    record = {**info, "files": files,
              "features": {split: f.to_dict() for split, f in features.items()}}
    (entry / "info.json").write_text(json.dumps(record, indent=2, default=str))


def decode_manifest(
    manifest: Manifest,
    sample_rate: int,
    entry: Path,
    info: dict[str, Any],
    num_proc: int = 1,
    advance: Callable[[str, int], None] = lambda split, n: None,
) -> None:
    """Decode every split of ``manifest`` into the cache ``entry`` (resumable, see module)."""
    folder = entry / DATA_DIR
    folder.mkdir(parents=True, exist_ok=True)
    shards = planned_shards(manifest, num_proc)
    discard_unfinished(folder, [name for split in SPLITS for name, _, _ in shards[split]])
    files, features, failures = {}, {}, {}
    with _quiet_datasets():
        for split in SPLITS:
            rows = manifest.splits[split]
            features[split] = decoded_features(rows.features, manifest.drop_columns)
            files[split] = decode_split(
                rows, shards[split], features[split], manifest, sample_rate, folder, num_proc,
                lambda n, split=split: advance(split, n),
            )
            failures[split] = failure_records(open_rows(folder, files[split], features[split]))
    total = sum(len(manifest.splits[s]) for s in SPLITS)
    if total and sum(len(records) for records in failures.values()) == total:
        first = next(f for records in failures.values() for f in records)
        shutil.rmtree(folder)  # nothing worth resuming; a re-run must decode afresh
        raise AudioDecodeError(first["file"], f"every file failed; first: {first['reason']}")
    write_entry(entry, files, features, failures, info)
