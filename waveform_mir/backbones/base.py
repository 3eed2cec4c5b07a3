"""The interface every backbone implements, and pooling that never collapses a small input.

A backbone maps front-end features to a *sequence* of embeddings ``(batch, dim, steps)``; the
head decides how to pool the steps (mean, max, attention). Keeping the time axis until the
head is what lets the pooling be an ablation knob instead of being baked into each network.
"""

from __future__ import annotations

from typing import Literal

import torch.nn.functional as F
from torch import Tensor, nn

InputKind = Literal["1d", "2d"]


class Backbone(nn.Module):
    """Base class: declares ``input_kind`` and the embedding width ``embedding_dim``."""

    input_kind: InputKind
    embedding_dim: int


def guarded_max_pool1d(x: Tensor, size: int) -> Tensor:
    """Max-pool the last axis by ``size``, shrinking the window when fewer steps remain.

    Clips shorter than the network's receptive field would otherwise hit a zero-length axis;
    with the guard, the axis bottoms out at one step.
    """
    size = min(size, x.shape[-1])
    return F.max_pool1d(x, size) if size > 1 else x


def guarded_max_pool2d(x: Tensor, size: int) -> Tensor:
    """2D version of :func:`guarded_max_pool1d` on ``(batch, ch, freq, time)``, per axis."""
    window = (min(size, x.shape[-2]), min(size, x.shape[-1]))
    return F.max_pool2d(x, window) if window != (1, 1) else x
