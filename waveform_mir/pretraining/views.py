"""Two views of every track of a batch: independent offsets and speeds, then augmentation.

A training item is a span of one track (``pretrain.span_seconds``, a random crop as the
classifier's loaders cut them). :class:`ViewMaker` cuts two views of ``view_samples`` from
each span, each at its own random offset and, with probability ``speed``, its own playback
rate in ``[1 / max_speed, max_speed]`` (resampled by linear interpolation: pitch and tempo
move together, the cheap half of CLMR's pitch shift), then augments every view on its own
(:class:`~.augmentations.WaveformAugment`). The two views of a track are therefore different
excerpts that sound differently, and still come from one track.

Offsets are drawn inside the span's content, the stretch between its first and last non-zero
sample: a clip shorter than the span is zero-padded by the loader, and a view of padding
alone would make a "positive pair" of two silences. A clip shorter than a view is placed at a
random position inside it.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .augmentations import WaveformAugment, chance, uniform


def content_bounds(spans: Tensor) -> tuple[Tensor, Tensor]:
    """``(B,)`` first and one-past-last index of each span's non-zero samples (0 and the
    length for a span of silence)."""
    audible = spans != 0
    length = spans.shape[-1]
    index = torch.arange(length, device=spans.device)
    first = torch.where(audible, index, length).amin(dim=-1)
    stop = torch.where(audible, index + 1, 0).amax(dim=-1)
    silent = stop == 0
    return first.masked_fill(silent, 0), stop.masked_fill(silent, length)


class ViewMaker:
    """``(B, span_samples)`` spans → ``(2B, view_samples)`` views (first views, then second).

    Args:
        view_samples: samples per view (the recipe's crop).
        sample_rate: the audio's rate (for the augmentations' filters).
        speed: probability that a view is played at another rate.
        max_speed: the largest rate factor (and 1 / it the smallest).
        augment: :class:`~.augmentations.WaveformAugment` options; ``{}`` its defaults.
    """

    def __init__(self, view_samples: int, sample_rate: int, speed: float = 0.5,
                 max_speed: float = 1.1, **augment) -> None:
        if max_speed < 1:
            raise ValueError(f"max_speed must be at least 1, got {max_speed}")
        self.view_samples = int(view_samples)
        self.speed, self.max_speed = speed, max_speed
        self.augment = WaveformAugment(sample_rate, **augment)

    @property
    def min_span_samples(self) -> int:
        """The shortest span that holds a view at the fastest rate."""
        return math.ceil((self.view_samples - 1) * self.max_speed) + 1

    def __call__(self, spans: Tensor, generator: torch.Generator | None = None) -> Tensor:
        if spans.shape[-1] < self.min_span_samples:
            raise ValueError(f"spans of {spans.shape[-1]} samples cannot hold a view of "
                             f"{self.view_samples} at speed {self.max_speed}: raise "
                             f"pretrain.span_seconds")
        views = torch.cat([self.cut(spans, generator), self.cut(spans, generator)])
        return self.augment(views, generator)

    def cut(self, spans: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """One view per span ``(B, view_samples)``, unaugmented: a random offset inside the
        content and a random rate (see the module)."""
        count, length, device = spans.shape[0], spans.shape[-1], spans.device
        log_speed = math.log(self.max_speed)
        rate = uniform(-log_speed, log_speed, count, device, generator).exp()
        rate = torch.where(chance(self.speed, count, device, generator), rate,
                           torch.ones_like(rate))
        needed = ((self.view_samples - 1) * rate).ceil().long() + 1  # (B,) samples read
        first, stop = content_bounds(spans)
        low = torch.minimum(first, stop - needed).clamp(0, None)
        high = torch.maximum(first, stop - needed).clamp(None, length - needed)
        low = torch.minimum(low, high)
        start = low + (torch.rand(count, device=device, generator=generator)
                       * (high - low + 1)).floor().long().clamp(None, high - low)
        position = start[:, None] + rate[:, None] * torch.arange(self.view_samples,
                                                                 device=device)
        left = position.floor().long().clamp(0, length - 1)
        right = (left + 1).clamp(None, length - 1)
        weight = (position - left).to(spans.dtype)
        return (spans.gather(1, left) * (1 - weight) + spans.gather(1, right) * weight)
