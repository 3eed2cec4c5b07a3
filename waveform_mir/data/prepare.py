"""``prepare_dataset``: from a ``DataConfig`` to cached, decoded splits ready for the loader.

The one entry point training, evaluation and the ``prepare`` command share. A complete cache
entry for the same source, options and sample rate is loaded without building the manifest
(no metadata parsing, no network for Hub sources); otherwise the builder's manifest is decoded
into the cache with one overall progress bar. Every track is levelled by the config's
``loudness`` as it is decoded, and that setting is part of the cache key. Streamed Hub
datasets skip the cache and decode lazily as they are iterated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import datasets
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

from ..config import DataConfig
from .cache import (
    cache_entry,
    decode_batch,
    decode_manifest,
    default_cache_root,
    is_complete,
    load_entry,
)
from .loudness import Loudness
from .manifest import SPLITS, Manifest, normalised
from .registry import build_manifest


@dataclass
class PreparedData:
    """Decoded splits plus what was left out and why.

    ``dataset`` has splits train/validation/test with columns ``waveform`` (at the config's
    sample rate: int16 PCM for cached data, read as float32 in [-1, 1] through
    :class:`~.loader.WaveformColumn` and the loader's datasets; float32 for streamed data),
    ``label`` (``ClassLabel``), ``track_id`` and builder extras (e.g. ``path``,
    ``genres_all``). ``skipped`` lists (file, reason) of files that failed to decode;
    ``dropped`` counts rows the builder removed before decoding, by reason; ``report_path`` is
    the skipped-file CSV (``None`` for streamed data).
    """

    dataset: datasets.DatasetDict | datasets.IterableDatasetDict
    label_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    report_path: Path | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    cache_path: Path | None = None


def prepare_dataset(
    config: DataConfig, *, progress: bool = True, refresh: bool = False
) -> PreparedData:
    """Build, decode and cache the dataset ``config`` describes (or load it from the cache).

    ``refresh`` re-decodes even if a cache entry exists (after the audio files changed).
    """
    root = Path(config.cache_dir).expanduser() if config.cache_dir else default_cache_root()
    loudness = Loudness.from_dict(config.loudness)
    entry = cache_entry(root, config.source, config.options, config.sample_rate,
                        loudness.to_dict())
    if is_complete(entry) and not refresh:
        return _from_entry(entry)
    manifest = build_manifest(config.source, dict(config.options))
    manifest = dataclasses.replace(manifest, render=normalised(manifest.render, loudness))
    if isinstance(manifest.splits, datasets.IterableDatasetDict):
        return _streamed(manifest, config.sample_rate)
    info = {
        "source": config.source,
        "options": config.options,
        "sample_rate": config.sample_rate,
        "loudness": loudness.to_dict(),
        "label_names": manifest.label_names,
        "dropped": manifest.dropped,
        "rows": {split: len(manifest.splits[split]) for split in SPLITS},
    }
    (entry / "info.json").unlink(missing_ok=True)
    with _progress_bar(manifest, enabled=progress) as advance:
        decode_manifest(manifest, config.sample_rate, entry, info, config.num_proc, advance)
    return _from_entry(entry)


def _from_entry(entry: Path) -> PreparedData:
    dataset, info, skipped = load_entry(entry)
    return PreparedData(
        dataset=dataset,
        label_names=list(info["label_names"]),
        skipped=skipped,
        report_path=entry / "skipped.csv",
        dropped=dict(info.get("dropped", {})),
        cache_path=entry,
    )


def _streamed(manifest: Manifest, sample_rate: int) -> PreparedData:
    """Lazily decoded streamed splits; failed rows are filtered out as they stream past."""
    decode = partial(decode_batch, render=manifest.render, sample_rate=sample_rate,
                     drop=manifest.drop_columns)
    splits = {}
    for split in SPLITS:
        rows = manifest.splits[split]
        decoded = rows.map(decode, batched=True, batch_size=8, remove_columns=rows.column_names)
        splits[split] = decoded.filter(lambda error: error == "", input_columns="error")
    return PreparedData(
        dataset=datasets.IterableDatasetDict(splits),
        label_names=manifest.label_names,
        dropped=manifest.dropped,
    )


@contextmanager
def _progress_bar(manifest: Manifest, enabled: bool) -> Iterator[Callable[[str, int], None]]:
    """A rich bar per split, advanced by the cache as shards finish; silent when disabled."""
    progress = Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeRemainingColumn(), disable=not enabled,
    )
    tasks = {
        split: progress.add_task(f"decoding {split}", total=len(manifest.splits[split]))
        for split in SPLITS
    }
    with progress:
        yield lambda split, n: progress.advance(tasks[split], n)
