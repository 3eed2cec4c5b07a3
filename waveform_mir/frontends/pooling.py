"""Low-pass pooling of filterbank energies down to the frame rate.

Squared filter outputs are at the sample rate; pooling averages them over a window and keeps
one value per hop, which is what the "frames" of a spectrogram are. LEAF learns the width of a
Gaussian window per channel, so each band chooses its own time resolution; a plain moving
average is the fixed alternative. Both map ``(batch, channels, samples)`` to
``(batch, channels, (samples - 1) // stride + 1)`` for an odd window centred on each hop.

When energies arrive decimated (one value every ``decimation`` samples), the window is sampled
on that grid and scaled by ``decimation`` — a Riemann sum of the same integral — so the frame
values and count match the full-rate computation while the window is smooth (wide) enough.
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
        self,
        num_channels: int,
        kernel_size: int,
        stride: int,
        init_width: float = 0.4,
        decimation: int = 1,
    ) -> None:
        super().__init__()
        self.stride, self.decimation = _decimated_stride(stride, decimation), decimation
        self.width = nn.Parameter(torch.full((num_channels,), init_width))
        self.width_range = (2.0 * decimation / kernel_size, 0.5)
        half = (kernel_size - 1) // 2
        taps = torch.arange(-(half // decimation), half // decimation + 1, dtype=torch.float32)
        self.register_buffer("offsets", taps * decimation / half, persistent=False)

    def window(self) -> Tensor:
        """Gaussian windows on the decimated grid, ``(channels, 1, taps)``; peak 1 per sample."""
        width = self.width.clamp(*self.width_range).unsqueeze(1)
        return self.decimation * torch.exp(-0.5 * (self.offsets / width) ** 2).unsqueeze(1)

    def forward(self, energy: Tensor) -> Tensor:
        window = self.window()
        return F.conv1d(
            energy, window, stride=self.stride, padding=window.shape[-1] // 2,
            groups=energy.shape[1],
        )


class MovingAverage(nn.Module):
    """Fixed box-car average (zero-padded at the edges); no parameters.

    On a decimated grid the box's sharp edges let some energy fluctuation alias into the
    frames (about 0.4% typical, up to ~10% on single frames); use ``decimation=1`` or the
    Gaussian window where that matters.
    """

    def __init__(
        self, num_channels: int, kernel_size: int, stride: int, decimation: int = 1
    ) -> None:
        super().__init__()
        del num_channels  # same signature as the learnable pooling; the average is shared
        taps = 2 * ((kernel_size - 1) // 2 // decimation) + 1
        stride = _decimated_stride(stride, decimation)
        self.pool = nn.AvgPool1d(taps, stride=stride, padding=taps // 2)

    def forward(self, energy: Tensor) -> Tensor:
        return self.pool(energy)


def _decimated_stride(stride: int, decimation: int) -> int:
    if stride % decimation:
        raise ValueError(f"decimation {decimation} must divide the pooling stride {stride}")
    return stride // decimation


FILTERBANK_POOLINGS: dict[str, Callable[..., nn.Module]] = {
    "gaussian": GaussianLowpass,
    "avg": MovingAverage,
}
