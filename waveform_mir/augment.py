"""SpecAugment-style masking of front-end outputs (Park et al. 2019), for training only.

Masks zero out random bands along the feature axis (frequency bins of a ``2d`` map, channels
of a ``1d`` sequence) and random spans of frames. Front-ends standardise their outputs, so a
zero is the mean value and masking removes information without shifting statistics. The
operation is the same for both kinds because it acts on the last two axes:
``(B, 1, F, T)`` and ``(B, C, T)`` alike. In eval mode it is the identity.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def _span_mask(batch: int, size: int, count: int, max_width: int, device: torch.device) -> Tensor:
    """``(batch, size)`` boolean, True inside ``count`` random spans of width ``<= max_width``."""
    if count == 0 or max_width == 0:
        return torch.zeros(batch, size, dtype=torch.bool, device=device)
    width = torch.randint(0, min(max_width, size) + 1, (batch, count, 1), device=device)
    start = (torch.rand(batch, count, 1, device=device) * (size - width + 1)).floor()
    position = torch.arange(size, device=device)
    return ((position >= start) & (position < start + width)).any(dim=1)


class SpecAugment(nn.Module):
    """Random feature-axis and time-axis masks, applied per example in training mode."""

    def __init__(
        self, freq_masks: int = 0, freq_width: int = 0, time_masks: int = 0, time_width: int = 0
    ) -> None:
        super().__init__()
        self.freq_masks, self.freq_width = freq_masks, freq_width
        self.time_masks, self.time_width = time_masks, time_width

    def forward(self, features: Tensor) -> Tensor:
        """``(B, ..., F, T)`` -> same shape, masked (training) or untouched (eval)."""
        if not self.training:
            return features
        batch, bins, frames = features.shape[0], features.shape[-2], features.shape[-1]
        lead = (batch,) + (1,) * (features.dim() - 3)
        freq = _span_mask(batch, bins, self.freq_masks, self.freq_width, features.device)
        time = _span_mask(batch, frames, self.time_masks, self.time_width, features.device)
        keep = ~(freq.view(*lead, bins, 1) | time.view(*lead, 1, frames))
        return features * keep

    def extra_repr(self) -> str:
        return (
            f"freq_masks={self.freq_masks}, freq_width={self.freq_width}, "
            f"time_masks={self.time_masks}, time_width={self.time_width}"
        )
