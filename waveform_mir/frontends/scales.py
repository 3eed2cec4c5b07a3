"""Frequency scales used to initialise learnable filterbanks.

Learnable front-ends start from the mel scale (as SincNet and LEAF do) so that, at step zero,
they behave like the fixed baseline and training only has to improve on it. The formula is
the HTK one, which is smooth and invertible in closed form.
"""

from __future__ import annotations

import torch
from torch import Tensor


def hz_to_mel(hz: Tensor) -> Tensor:
    """HTK mel scale: ``2595 * log10(1 + hz / 700)``."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_points(low_hz: float, high_hz: float, count: int) -> Tensor:
    """``count`` frequencies in Hz, equally mel-spaced from ``low_hz`` to ``high_hz``."""
    mels = torch.linspace(
        float(hz_to_mel(torch.tensor(low_hz))), float(hz_to_mel(torch.tensor(high_hz))), count
    )
    return mel_to_hz(mels)
