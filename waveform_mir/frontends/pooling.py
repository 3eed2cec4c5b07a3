"""Low-pass pooling of filterbank energies down to the frame rate.

Squared filter outputs are at the sample rate; pooling averages them over a window and keeps
one value per hop, which is what the "frames" of a spectrogram are. LEAF learns the width of a
Gaussian window per channel, so each band chooses its own time resolution; a plain moving
average is the fixed alternative. Both map ``(batch, channels, samples)`` to
``(batch, channels, (samples - 1) // stride + 1)`` for an odd window centred on each hop.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class GaussianLowpass(nn.Module):
    """Depthwise Gaussian window with a learnable width per channel (LEAF's pooling).

    The width is a fraction of the half-window, clamped to ``[2 / kernel_size, 0.5]`` so the
    window neither degenerates to a single tap nor gets truncated into a box.
    """

    def __init__(
        self, num_channels: int, kernel_size: int, stride: int, init_width: float = 0.4
    ) -> None:
        super().__init__()
        self.stride = stride
        self.width = nn.Parameter(torch.full((num_channels,), init_width))
        self.width_range = (2.0 / kernel_size, 0.5)
        half = (kernel_size - 1) / 2
        self.register_buffer(
            "offsets", (torch.arange(kernel_size, dtype=torch.float32) - half) / half, False
        )

    def window(self) -> Tensor:
        """Unnormalised Gaussian windows, ``(channels, 1, kernel_size)`` (peak 1, as in LEAF)."""
        width = self.width.clamp(*self.width_range).unsqueeze(1)
        return torch.exp(-0.5 * (self.offsets / width) ** 2).unsqueeze(1)

    def forward(self, energy: Tensor) -> Tensor:
        window = self.window()
        return F.conv1d(
            energy, window, stride=self.stride, padding=window.shape[-1] // 2,
            groups=energy.shape[1],
        )


class MovingAverage(nn.Module):
    """Fixed box-car average (zero-padded at the edges); no parameters."""

    def __init__(self, num_channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        del num_channels  # same signature as the learnable pooling; the average is shared
        self.pool = nn.AvgPool1d(kernel_size, stride=stride, padding=kernel_size // 2)

    def forward(self, energy: Tensor) -> Tensor:
        return self.pool(energy)


POOLINGS: dict[str, Callable[[int, int, int], nn.Module]] = {
    "gaussian": GaussianLowpass,
    "avg": MovingAverage,
}
