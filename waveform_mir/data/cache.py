"""Decode a manifest once into an Arrow store that every later epoch and run memory-maps.

Decoding MP3 is by far the slowest step of training on raw audio, so it happens once per
(source, options, sample rate): ``datasets.Dataset.map`` renders rows to waveforms in
``num_proc`` worker processes and writes them with a small ``writer_batch_size`` so memory
stays flat even for 30 s clips. Rows are processed in shards, each written to its own Arrow
file(s) and marked done, so an interrupted preparation of a 100k-track dataset resumes after
the last finished shard instead of starting over. When every split is done, the
finished ``DatasetDict`` is saved with ``save_to_disk``, the shard files are removed and a
``info.json`` marks the cache complete.

Layout of one cache entry::

    <cache_root>/<source>-<key>/dataset/     DatasetDict (save_to_disk)
    <cache_root>/<source>-<key>/skipped.csv  split, track_id, file, reason of each skipped file
    <cache_root>/<source>-<key>/info.json    what was built, label names, drop counts
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

CACHE_FORMAT = 1  # bump when the stored layout or decoding changes, to invalidate old caches
WRITER_BATCH_SIZE = 16  # rows per Arrow record batch: ~30 MB for 30 s clips at 16 kHz
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
    return (entry / "info.json").is_file() and (entry / "dataset").is_dir()


def load_entry(entry: Path) -> tuple[datasets.DatasetDict, dict[str, Any], list[Skipped]]:
    """A finished cache entry → (memory-mapped splits, info, skipped files)."""
    info = json.loads((entry / "info.json").read_text())
    with (entry / "skipped.csv").open(newline="") as handle:
        skipped = [(row["file"], row["reason"]) for row in csv.DictReader(handle)]
    return datasets.load_from_disk(str(entry / "dataset")), info, skipped


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


def decoded_features(manifest_features: datasets.Features, drop: tuple[str, ...]):
    kept = {name: f for name, f in manifest_features.items() if name not in drop}
    return datasets.Features(
        {**kept, "waveform": datasets.List(datasets.Value("float32")),
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


def decode_split(
    rows: datasets.Dataset,
    manifest: Manifest,
    sample_rate: int,
    work: Path,
    prefix: str,
    num_proc: int,
    advance: Callable[[int], None],
) -> datasets.Dataset:
    """Decode one split shard by shard into ``work``; finished shards are reused on re-run."""
    features = decoded_features(rows.features, manifest.drop_columns)
    if len(rows) == 0:
        return datasets.Dataset.from_dict({name: [] for name in features}, features=features)
    kwargs = {"render": manifest.render, "sample_rate": sample_rate,
              "drop": manifest.drop_columns}
    shard_rows = SHARD_ROWS_PER_PROC * max(1, num_proc)
    shards = []
    for number, start in enumerate(range(0, len(rows), shard_rows)):
        name = f"{prefix}-{number:05d}"
        done = work / f"{name}.done.json"
        part = rows.select(range(start, min(start + shard_rows, len(rows))))
        if done.is_file():  # finished by an earlier, interrupted run
            files = json.loads(done.read_text())
            shards.append(datasets.concatenate_datasets(
                [datasets.Dataset.from_file(f) for f in files]))
        else:
            workers = min(num_proc, len(part))
            decoded = part.map(
                decode_batch, batched=True, batch_size=WRITER_BATCH_SIZE, fn_kwargs=kwargs,
                writer_batch_size=WRITER_BATCH_SIZE, num_proc=workers if workers > 1 else None,
                remove_columns=part.column_names, features=features,
                cache_file_name=str(work / f"{name}.arrow"), new_fingerprint=name,
            )
            done.write_text(json.dumps([f["filename"] for f in decoded.cache_files]))
            shards.append(decoded)
        advance(len(part))
    return datasets.concatenate_datasets(shards)


def split_failures(decoded: datasets.Dataset) -> tuple[datasets.Dataset, list[dict[str, str]]]:
    """Separate rows whose rendering failed; returns the good rows and one record per failure."""
    errors = np.asarray(decoded.with_format("numpy")["error"], dtype=str)
    bad = np.flatnonzero(errors != "")
    meta = decoded.select_columns([c for c in ("track_id", "path") if c in decoded.column_names])
    failures = [
        {"track_id": row["track_id"], "file": row.get("path", row["track_id"]),
         "reason": str(errors[i])}
        for i, row in zip(bad, meta.select(bad), strict=True)
    ]
    good = decoded.select(np.flatnonzero(errors == "")).remove_columns("error")
    return good, failures


def write_entry(
    entry: Path,
    splits: dict[str, datasets.Dataset],
    failures: dict[str, list[dict[str, str]]],
    info: dict[str, Any],
) -> None:
    """Save the finished splits, the skipped-file report and, last, the completion marker."""
    # An empty split must still be written as one (empty) shard, or it cannot be loaded back.
    shards = {name: None if len(split) else 1 for name, split in splits.items()}
    datasets.DatasetDict(splits).save_to_disk(str(entry / "dataset"), num_shards=shards)
    with (entry / "skipped.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["split", "track_id", "file", "reason"])
        writer.writeheader()
        for split, records in failures.items():
            writer.writerows({"split": split, **record} for record in records)
    (entry / "info.json").write_text(json.dumps(info, indent=2, default=str))


def decode_manifest(
    manifest: Manifest,
    sample_rate: int,
    entry: Path,
    info: dict[str, Any],
    num_proc: int = 1,
    advance: Callable[[str, int], None] = lambda split, n: None,
) -> None:
    """Decode every split of ``manifest`` into the cache ``entry`` (resumable, see module)."""
    work = entry / "_shards"
    work.mkdir(parents=True, exist_ok=True)
    good, failures = {}, {}
    with _quiet_datasets():
        for split in SPLITS:
            decoded = decode_split(
                manifest.splits[split], manifest, sample_rate, work, split, num_proc,
                lambda n, split=split: advance(split, n),
            )
            good[split], failures[split] = split_failures(decoded)
        total = sum(len(manifest.splits[s]) for s in SPLITS)
        if total and not sum(len(d) for d in good.values()):
            first = next(f for records in failures.values() for f in records)
            shutil.rmtree(work)  # nothing worth resuming; a re-run must decode afresh
            raise AudioDecodeError(first["file"], f"every file failed; first: {first['reason']}")
        if (entry / "dataset").exists():
            shutil.rmtree(entry / "dataset")
        write_entry(entry, good, failures, info)
    shutil.rmtree(work)
