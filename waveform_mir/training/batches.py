"""Training micro-batches from the cache or from a stream, behind one interface.

The loop asks for the batches from optimiser step ``k`` on (a resumed run asks for its
checkpoint's step) and walks them until its budget is spent. How they are made differs:

* cached data (:class:`CachedBatches`): an ``accelerate``-prepared DataLoader over random crops
  of the cache, one epoch at a time: sampler and crops set to the epoch step ``k`` falls in,
  the batches of it that were consumed before skipped;
* streamed data (:class:`StreamedBatches`): a DataLoader over a
  :class:`~waveform_mir.data.stream.StreamingCropDataset`, which has no end and gives each
  process its own share by itself. It is not passed through ``accelerate.prepare``, which
  would have one process read the whole stream and send slices of every batch to the others
  (or every process read all of it); a resumed run starts each worker after the rows it had
  served.

A batch is ``{"waveform": (B, crop_samples), "label": (B,), ...}`` on the run's device.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
from accelerate import Accelerator
from accelerate.utils import send_to_device
from torch.utils.data import DataLoader

from waveform_mir.config import Recipe
from waveform_mir.data import PreparedData, RandomCropDataset, class_balanced_sampler, collate
from waveform_mir.data.stream import StreamingCropDataset, stream_collate


class TrainBatches(Protocol):
    """Where the training loop's micro-batches come from."""

    def from_step(self, step: int) -> Iterable[dict]:
        """Micro-batches from optimiser step ``step`` on: at least to the end of that step's
        epoch (cached data), or without end (streamed data)."""
        ...


@dataclass
class CachedBatches:
    """Epochs of an ``accelerate``-prepared loader over random crops of the cache."""

    loader: DataLoader
    accelerator: Accelerator
    grad_accumulation: int

    def from_step(self, step: int) -> Iterable[dict]:
        """The rest of the epoch ``step`` falls in: sampler and crops set to that epoch, the
        micro-batches already consumed (by a run that was interrupted) skipped."""
        epoch, done_in_epoch = divmod(step, len(self.loader) // self.grad_accumulation)
        self.loader.set_epoch(epoch)  # the sampler's shuffle / balanced draws
        self.loader.dataset.set_epoch(epoch)  # the crops' offsets
        if not done_in_epoch:
            return self.loader
        return self.accelerator.skip_first_batches(
            self.loader, done_in_epoch * self.grad_accumulation)


@dataclass
class StreamedBatches:
    """An endless loader over streamed crops; batches moved to ``device`` here, since the
    loader is not prepared by ``accelerate``."""

    loader: DataLoader
    device: torch.device
    grad_accumulation: int

    def from_step(self, step: int) -> Iterator[dict]:
        self.loader.dataset.resume_at(step * self.grad_accumulation, self.loader.batch_size)
        for batch in self.loader:
            yield send_to_device(batch, self.device)


def cached_batches(prepared: PreparedData, recipe: Recipe, accelerator: Accelerator
                   ) -> CachedBatches:
    """Random crops of the cached training split, shuffled or drawn class-balanced."""
    train_split = prepared.dataset["train"]
    crops = RandomCropDataset(train_split, recipe.data.crop_samples, seed=recipe.train.seed)
    sampler = None
    if recipe.data.balanced_sampling:
        sampler = class_balanced_sampler(train_split["label"], num_samples=len(train_split),
                                         seed=recipe.train.seed)
    loader = DataLoader(crops, batch_size=recipe.train.batch_size, shuffle=sampler is None,
                        sampler=sampler, drop_last=len(crops) >= recipe.train.batch_size,
                        collate_fn=collate, num_workers=recipe.train.num_workers)
    return CachedBatches(accelerator.prepare(loader), accelerator, recipe.train.grad_accumulation)


def streamed_batches(prepared: PreparedData, recipe: Recipe, accelerator: Accelerator
                     ) -> StreamedBatches:
    """Random crops of the streamed training rows, decoded in ``train.num_workers`` worker
    processes, this process's share only."""
    if recipe.data.balanced_sampling or recipe.train.class_weights:
        raise ValueError(
            "data.balanced_sampling and train.class_weights need every training label before "
            "training starts; a streamed source yields them only as it is read (turn them off, "
            "or cache the data: drop data.options.streaming)")
    crops = StreamingCropDataset(
        prepared.stream, recipe.data.crop_samples, seed=recipe.train.seed,
        rank=accelerator.process_index, world_size=accelerator.num_processes,
        readers=recipe.train.num_workers, label_column=recipe.data.label_column)
    loader = DataLoader(crops, batch_size=recipe.train.batch_size, collate_fn=stream_collate,
                        num_workers=recipe.train.num_workers)
    return StreamedBatches(loader, accelerator.device, recipe.train.grad_accumulation)


def train_batches(prepared: PreparedData, recipe: Recipe, accelerator: Accelerator
                  ) -> TrainBatches:
    """The training batches of ``prepared``: streamed when it holds a stream, else cached."""
    build = cached_batches if prepared.stream is None else streamed_batches
    return build(prepared, recipe, accelerator)
