"""Log compression of non-negative energies.

Spectral energies span many orders of magnitude; a log maps them to a range a CNN can use.
``log(x + eps)`` rather than ``log(clamp(x, eps))`` keeps a gradient flowing through bins that
are (nearly) silent, which matters when the kernels producing them are trainable. Energies
are first clamped at zero: a trainable mel filterbank (nnAudio's ``trainable_mel``) has no
sign constraint, so after a few optimiser steps some of its weights turn negative, and so
would the "energies" it produces, and their log would be NaN.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class LogCompression(nn.Module):
    """``log(max(x, 0) + eps)``, elementwise; any shape in, same shape out."""

    def __init__(self, eps: float = 1e-6) -> None:
        super().__init__()
        self.eps = eps

    def forward(self, energy: Tensor) -> Tensor:
        return torch.log(energy.clamp(min=0) + self.eps)

    def extra_repr(self) -> str:
        return f"eps={self.eps:g}"
