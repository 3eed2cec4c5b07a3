"""``prepare_dataset``: from a ``DataConfig`` to cached, decoded splits ready for the loader.

The one entry point training, evaluation and the ``prepare`` command share. A complete cache
entry for the same source, options and sample rate is loaded without building the manifest
(no metadata parsing, no network for Hub sources); otherwise the builder's manifest is decoded
into the cache with one overall progress bar. Every track is levelled by the config's
``loudness`` as it is decoded, and that setting is part of the cache key.

A source with ``streaming: true`` among its options (any source: Hub streaming, or a local
collection too large to cache) keeps its training split undecoded, as a
:class:`~.stream.TrainStream` that DataLoader workers decode while training reads it, with the
same renderer and levelling as the cache. Its validation and test splits are decoded into the
cache as usual (they are small, and evaluation scores every chunk of every track), so
evaluation, calibration and ``evaluate`` treat streamed and cached data alike.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import datasets
import pyarrow as pa

from ..config import DataConfig
from ..progress import make_progress
from .cache import (
    cache_entry,
    decode_manifest,
    default_cache_root,
    is_complete,
    load_entry,
)
from .loudness import Loudness
from .manifest import SPLITS, Manifest, normalised
from .registry import build_manifest, builder_options
from .stream import TrainStream


@dataclass(frozen=True)
class DecodeThroughput:
    """How fast a preparation decoded: ``files`` in ``seconds`` with ``workers`` processes;
    what to scale from when planning a larger set (files/s grows with workers up to the
    cores, and time with the number of files)."""

    files: int
    workers: int
    seconds: float

    @property
    def files_per_second(self) -> float:
        return self.files / max(self.seconds, 1e-9)

    @property
    def files_per_second_per_worker(self) -> float:
        return self.files_per_second / self.workers


@dataclass
class PreparedData:
    """Decoded splits plus what was left out and why.

    ``dataset`` has splits train/validation/test with columns ``waveform`` (int16 PCM at the
    config's sample rate, read as float32 in [-1, 1] through :class:`~.loader.WaveformColumn`
    and the loader's datasets), ``label`` (``ClassLabel``), ``track_id`` and builder extras
    (e.g. ``path``, ``genres_all``). ``skipped`` lists (file, reason) of files that failed to
    decode; ``dropped`` counts rows the builder removed before decoding, by reason;
    ``report_path`` is the skipped-file CSV. For a streamed source ``stream`` holds the
    training rows, undecoded, and ``dataset["train"]`` is empty.
    """

    dataset: datasets.DatasetDict
    label_names: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    report_path: Path | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    cache_path: Path | None = None
    stream: TrainStream | None = None
    throughput: DecodeThroughput | None = None  # set when this call decoded the audio


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
    streaming = bool(config.options.get("streaming", False))
    if is_complete(entry) and not refresh and not streaming:
        return _from_entry(entry)
    manifest = build_manifest(config.source, builder_options(config.source, config.options))
    manifest = dataclasses.replace(manifest, render=normalised(manifest.render, loudness))
    if not streaming:
        throughput = _decode(manifest, config, entry, progress)
        return dataclasses.replace(_from_entry(entry), throughput=throughput)
    if refresh or not is_complete(entry):
        _decode(_evaluation_splits(manifest), config, entry, progress)
    prepared = _from_entry(entry)
    prepared.stream = TrainStream(manifest.splits["train"], manifest.render, config.sample_rate)
    return prepared


def _decode(manifest: Manifest, config: DataConfig, entry: Path, progress: bool
            ) -> DecodeThroughput:
    """Decode every split of ``manifest`` into the cache ``entry`` under one progress bar
    (files/s and the time left, per split); returns how fast it went."""
    info = {
        "source": config.source,
        "options": config.options,
        "sample_rate": config.sample_rate,
        "loudness": Loudness.from_dict(config.loudness).to_dict(),
        "label_names": manifest.label_names,
        "dropped": manifest.dropped,
        "rows": {split: len(manifest.splits[split]) for split in SPLITS},
    }
    (entry / "info.json").unlink(missing_ok=True)
    started = time.perf_counter()
    with _progress_bar(manifest, enabled=progress) as advance:
        decode_manifest(manifest, config.sample_rate, entry, info, config.num_proc, advance)
    return DecodeThroughput(files=sum(info["rows"].values()), workers=max(1, config.num_proc),
                            seconds=time.perf_counter() - started)


def _rows_table(rows, features: datasets.Features) -> datasets.Dataset:
    """``rows`` (dicts, e.g. a streamed split) as an in-memory map-style dataset. Built with
    Arrow directly: ``datasets`` would re-encode audio cells, which needs torchcodec."""
    return datasets.Dataset(pa.Table.from_pylist(list(rows), schema=features.arrow_schema))


def _evaluation_splits(manifest: Manifest) -> Manifest:
    """``manifest`` with an empty train split and validation and test read into memory (a
    streamed Hub split is fetched once: these splits are small), for the cache."""
    features = manifest.splits["train"].features
    splits = {split: _rows_table(manifest.splits[split], features) for split in SPLITS[1:]}
    return dataclasses.replace(manifest, splits=datasets.DatasetDict(
        {"train": _rows_table([], features), **splits}))


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


@contextmanager
def _progress_bar(manifest: Manifest, enabled: bool) -> Iterator[Callable[[str, int], None]]:
    """A rich bar per split, advanced by the cache as shards finish; silent when disabled."""
    progress = make_progress(unit="files", disable=not enabled)
    tasks = {
        split: progress.add_task(f"decoding {split}", total=len(manifest.splits[split]),
                                 info="")
        for split in SPLITS
    }
    with progress:
        yield lambda split, n: progress.advance(tasks[split], n)
