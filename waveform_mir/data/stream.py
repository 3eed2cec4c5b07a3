"""Training crops decoded as they are read, for data too large (or too remote) to cache.

A source marked ``streaming: true`` in ``data.options`` (a Hub dataset streamed from the Hub,
or a local ``folder`` / ``fma`` / ``synthetic`` source) is not decoded into the cache for
training. :class:`TrainStream` keeps its training rows undecoded (paths, Hub audio bytes,
synthesis seeds) together with the renderer the cache would use, already levelled by the
recipe's loudness setting; :class:`StreamingCropDataset` turns them into random crops inside
DataLoader worker processes:

* rows are shuffled per epoch (shard order, then a buffer of ``buffer_size`` rows) with one
  seed shared by every process (``datasets``' ``shuffle`` and ``set_epoch``);
* each DataLoader worker of each process of a distributed run (a *reader*) keeps its own
  share of the rows (``split_dataset_by_node`` over processes × workers) *before* any audio
  is decoded: no clip is decoded, nor seen, twice in an epoch;
* a row is rendered, levelled and rounded to int16 PCM exactly as the cache stores it, then
  cut at a random offset drawn from ``(seed, epoch, track id)``, so a streamed run reads the
  very samples a cached run reads, and its crops do not depend on the process layout;
* the stream has no end: a worker starts its next epoch when its share of one is done, so
  processes, whose shares may differ by a few rows, never wait for each other at an epoch
  boundary and all take the same number of optimiser steps.

Resuming is exact up to bad files: after ``b`` batches a process's DataLoader has taken
batches from its ``W`` readers in turn (reader ``r`` served ``b // W + (r < b % W)`` of them),
so each reader skips that many batches' worth of undecoded rows of its own, deterministic
stream, and a resumed DataLoader, which starts again with its first worker, gives that worker
the part of reader ``b % W`` (:meth:`StreamingCropDataset.resume_at`). A skipped row is read
but not decoded, so a file that failed to decode before the checkpoint moves the resumed
stream one row further on.
"""

from __future__ import annotations

import itertools
import logging
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial, singledispatch
from typing import Any

import datasets
import numpy as np
import torch
from datasets.distributed import split_dataset_by_node
from torch.utils.data import IterableDataset, get_worker_info

from .labels import feature_names, is_tag_feature, multi_hot
from .loader import collate, random_crop
from .manifest import Render
from .pcm import to_pcm16

SHARDS_PER_READER = 4  # shards of a local source per reader (process × worker): room to shuffle
logger = logging.getLogger(__name__)


@dataclass
class TrainStream:
    """The training split of a streamed source: undecoded rows and how to decode one.

    ``rows`` holds the manifest's rows (``track_id``, ``label`` and what ``render`` reads):
    a map-style ``Dataset`` for local sources, an ``IterableDataset`` for Hub streaming.
    ``render`` is the manifest's renderer levelled by the recipe's loudness setting
    (:func:`~.manifest.normalised`), the very function the cache decodes with.
    """

    rows: datasets.Dataset | datasets.IterableDataset
    render: Render
    sample_rate: int


@singledispatch
def row_stream(rows: Any, shards: int, seed: int) -> datasets.IterableDataset:
    """``rows`` as an iterable dataset that can be shuffled and split by shard."""
    raise TypeError(f"cannot stream rows of type {type(rows).__name__}")


@row_stream.register
def _(rows: datasets.Dataset, shards: int, seed: int) -> datasets.IterableDataset:
    """Local rows: permuted once (sources list tracks genre by genre, which a shuffle buffer
    alone would not undo) and cut into ``shards`` shards, at most one per row."""
    permuted = rows.shuffle(seed=seed)
    return permuted.to_iterable_dataset(num_shards=max(1, min(shards, len(rows))))


@row_stream.register
def _(rows: datasets.IterableDataset, shards: int, seed: int) -> datasets.IterableDataset:
    """Hub rows: already a stream; its files are its shards."""
    return rows


def served_batches(batches: int, readers: int, reader: int) -> int:
    """Batches reader ``reader`` of ``readers`` served when a DataLoader, which takes one batch
    from each worker in turn, had yielded ``batches``."""
    return batches // readers + (1 if reader < batches % readers else 0)


def _tag_target(tag_ids: list[int], num_tags: int) -> torch.Tensor:
    """A row's tag ids → FloatTensor (num_tags,) multi-hot."""
    ids = np.asarray(tag_ids, dtype=np.int64)
    return torch.from_numpy(multi_hot(np.array([len(ids)]), ids, num_tags)[0])


def target_reader(feature: object) -> Callable[[Any], int | torch.Tensor]:
    """How a row's label cell becomes its training target, read off the column's feature as
    the cached loader reads it: a class id, or a (num_tags,) multi-hot for a tag column."""
    if is_tag_feature(feature):
        return partial(_tag_target, num_tags=len(feature_names(feature)))
    return int


class StreamingCropDataset(IterableDataset):
    """Endless random crops of a :class:`TrainStream`, one per track per epoch (see module).

    Item: ``{"waveform": FloatTensor (crop_samples,), "label": int, "track_id": str}``, the
    label read from ``label_column`` (a FloatTensor (num_tags,) when it is a tag column).
    ``rank`` / ``world_size`` name this process among those of a distributed run; ``readers``
    (DataLoader workers per process, at least 1) sets how many shards a local source is cut
    into, so that every worker of every process reads shards of its own.
    """

    def __init__(self, stream: TrainStream, crop_samples: int, *, seed: int = 0,
                 buffer_size: int = 256, rank: int = 0, world_size: int = 1,
                 readers: int = 1, label_column: str = "label") -> None:
        shards = world_size * max(1, readers) * SHARDS_PER_READER
        self.rows = row_stream(stream.rows, shards, seed)
        self.label_column = label_column
        self.target = target_reader(stream.rows.features[label_column])
        self.render = stream.render
        self.sample_rate = stream.sample_rate
        self.crop_samples = int(crop_samples)
        self.seed = seed
        self.buffer_size = buffer_size
        self.rank, self.world_size = rank, world_size
        self.start_batches, self.batch_size = 0, 0

    def resume_at(self, batches: int, batch_size: int) -> None:
        """Make the next iteration start after ``batches`` batches of ``batch_size`` crops
        (what this process's loader yielded before the checkpoint); rows are skipped
        undecoded."""
        self.start_batches, self.batch_size = batches, batch_size

    def epoch_rows(self, epoch: int, reader: int, readers: int) -> Iterator[dict]:
        """Reader ``reader``'s share of epoch ``epoch``'s shuffled rows, ``readers`` being
        this process's DataLoader workers (1 without workers)."""
        rows = self.rows.shuffle(seed=self.seed, buffer_size=self.buffer_size)
        share = split_dataset_by_node(rows, rank=self.rank * readers + reader,
                                      world_size=self.world_size * readers)
        share.set_epoch(epoch)  # after the split, which starts a new dataset at epoch 0
        # ``iter`` rather than ``for row in share``: inside a DataLoader worker the latter
        # would split the share between workers a second time.
        for batch in share.iter(batch_size=1):
            yield {name: values[0] for name, values in batch.items()}

    def _rows(self, reader: int, readers: int) -> Iterator[tuple[int, dict]]:
        """``(epoch, row)`` of one reader's share, epoch after epoch, without end."""
        for epoch in itertools.count():
            empty = True
            for row in self.epoch_rows(epoch, reader, readers):
                empty = False
                yield epoch, row
            if empty:
                raise RuntimeError(
                    f"a data reader got no training rows in epoch {epoch}: fewer rows than "
                    f"{self.world_size} process(es) × {readers} DataLoader worker(s)")

    def __iter__(self) -> Iterator[dict]:
        worker = get_worker_info()
        readers, slot = (worker.num_workers, worker.id) if worker else (1, 0)
        reader = (slot + self.start_batches) % readers  # the worker a resumed loader asks next
        skip = served_batches(self.start_batches, readers, reader) * self.batch_size
        for epoch, row in itertools.islice(self._rows(reader, readers), skip, None):
            pcm = self._decode(row)
            if pcm is None:
                continue
            track = str(row["track_id"])
            rng = np.random.default_rng([self.seed, epoch, zlib.crc32(track.encode())])
            crop = random_crop(pcm, self.crop_samples, rng)
            yield {"waveform": torch.from_numpy(crop),
                   "label": self.target(row[self.label_column]), "track_id": track}

    def _decode(self, row: dict) -> np.ndarray | None:
        """The row's track ``(samples,)`` as the cache stores it (levelled, int16 PCM);
        ``None`` (and a warning) for a row that cannot be decoded, which is left out."""
        try:
            return to_pcm16(self.render(row, self.sample_rate))
        except Exception as error:  # noqa: BLE001 - one bad file must not end training
            logger.warning("skipped %s: %s", row.get("path") or row.get("track_id"), error)
            return None


def stream_collate(items: list[dict]) -> dict:
    """:func:`~.loader.collate`, plus the batch's ``track_id`` list (which clips a process
    saw, for checking that the processes of a run share none)."""
    return {**collate(items), "track_id": [item["track_id"] for item in items]}
