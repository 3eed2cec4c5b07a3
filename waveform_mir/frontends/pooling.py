"""Low-pass pooling of filterbank energies down to the frame rate.

Squared filter outputs are at the sample rate; pooling averages them over a window and keeps
one value per hop, which is what the "frames" of a spectrogram are. LEAF learns the width of a
Gaussian window per channel, so each band chooses its own time resolution; a plain moving
average is the fixed alternative. Both map ``(batch, channels, samples)`` to
``(batch, channels, (samples - 1) // stride + 1)``, one frame centred on every hop of a
circular sequence (a band's analysis window, its ringing before time 0 at its end).

Energies may arrive decimated, ``q`` values per hop, one every ``d = hop / q`` samples (whole
or not), with ``q`` chosen per band (:mod:`~waveform_mir.frontends.filterbank`). The window is
then sampled on that grid and weighted as a trapezoid rule of spacing ``d`` (``d`` inside,
``(d + 1) / 2`` on the two edge taps): by Euler-Maclaurin the same sum as the full-rate window's up
to derivative terms, including the jump at a truncated window's edges, which a plain
``d``-weighted Riemann sum would over-count. So frame values and count match the full-rate
computation whatever ``d``, provided the energy itself is sampled finely enough
(:meth:`bandwidth` says how finely); the one residue is the derivative jump at a truncated
window's edges, about ``1e-3`` relative at ``d = 32`` for LEAF's initial width, falling as
``d^2``.

The window's half-extent is the filter window's half rounded up to a multiple of
``max_decimation``; a grid is permitted only if it has a tap on both edges
(:func:`~waveform_mir.frontends.convolution.grid_choices`). With ``max_decimation=1`` it is
LEAF's window exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

_TAIL = math.sqrt(2 * math.log(1e4))  # a Gaussian falls to 1e-4 of its peak at this many sigmas


class WindowPooling(nn.Module):
    """Shared machinery: a per-channel window on any decimated grid, applied depthwise.

    Subclasses give :meth:`window_values` (the window at given offsets, in units of the
    half-window) and :meth:`bandwidth`.
    """

    def __init__(self, kernel_size: int, stride: int, max_decimation: int = 1) -> None:
        super().__init__()
        self.stride = stride
        self.half = (kernel_size - 1) // 2  # the window's scale, in samples
        self.extent = -(-self.half // max_decimation) * max_decimation  # its support, ± samples

    def window_values(self, offsets: Tensor, channels: Tensor | None) -> Tensor:
        """The window at ``offsets`` (samples / half), ``(channels, taps)``."""
        raise NotImplementedError

    def bandwidth(self) -> Tensor:
        """One-sided frequency (cycles per sample) above which each window's response is
        negligible, ``(channels,)``, detached: what energies need beside the band's width."""
        raise NotImplementedError

    def weights(self, per_hop: int, channels: Tensor | None, device: torch.device) -> Tensor:
        """Trapezoid weights on the grid of ``per_hop`` points per stride,
        ``(channels, 1, taps)``."""
        reach, remainder = divmod(self.extent * per_hop, self.stride)
        if remainder:
            raise ValueError(f"{per_hop} points per {self.stride} samples put no tap on the "
                             f"window's edges at +-{self.extent}")
        decimation = self.stride / per_hop
        grid = torch.arange(-reach, reach + 1, device=device, dtype=torch.float32)
        rule = torch.full_like(grid, decimation)
        rule[[0, -1]] = (decimation + 1) / 2
        if reach >= 2:  # the derivative jump at the edges, by one-sided differences
            slope = (decimation**2 - 1) / (12 * decimation)
            rule[[0, -1]] -= slope
            rule[[1, -2]] += slope
        return (self.window_values(grid * decimation / self.half, channels) * rule).unsqueeze(1)

    def forward(self, energy: Tensor, per_hop: int | None = None,
                channels: Tensor | None = None) -> Tensor:
        """``(batch, bands, points)`` -> ``(batch, bands, (points - 1) // per_hop + 1)``, the
        energies ``per_hop`` points per stride (default: every sample), the frames centred
        on every ``per_hop``-th point of a circular sequence
        (its last samples are the ones before its first), as a band's whole analysis
        window is.

        ``channels`` (long, ``(bands,)``) names which of the module's channels the bands
        are, when only a group of them arrives at this rate; ``None`` means all.
        """
        per_hop = per_hop or self.stride
        window = self.weights(per_hop, channels, energy.device).to(energy.dtype)
        return circular_window_sums(energy, window.squeeze(1), per_hop)


def circular_window_sums(energy: Tensor, window: Tensor, step: int) -> Tensor:
    """``out[b, c, m] = sum_o window[c, o + reach] energy[b, c, (m step + o) mod points]``
    for ``|o| <= reach``, ``(batch, bands, points / step)``: a depthwise circular
    convolution at stride ``step``, with ``window`` ``(bands | 1, 2 reach + 1)``.

    Computed as one batched matrix product over blocks of ``step`` points: the energies
    viewed as ``(batch, bands, frames, step)`` times the window cut into as many
    ``(step, blocks)`` columns as it spans, each column's result shifted by its block.
    Depthwise strided ``conv1d`` did the same sums 1.5-4 times slower forward and
    backward (its CPU kernels are built for wide dense convolutions), and erratically so.
    """
    batch, bands, points = energy.shape
    if points % step:
        raise ValueError(f"{points} points are not a whole number of blocks of {step}")
    reach = window.shape[-1] // 2
    before, after = -(-reach // step), reach // step  # blocks reached either side
    blocks = before + after + 1
    lead = before * step - reach
    columns = F.pad(window, (lead, blocks * step - lead - window.shape[-1]))
    columns = columns.view(-1, blocks, step).transpose(1, 2)  # (bands | 1, step, blocks)
    sums = energy.view(batch, bands, points // step, step) @ columns.unsqueeze(0)
    return sum(sums[..., j].roll(before - j, dims=-1) for j in range(blocks))


class GaussianLowpass(WindowPooling):
    """Depthwise Gaussian window with a learnable width per channel (LEAF's pooling).

    The width is a fraction of the half-window, clamped to ``[2 / kernel_size, 0.5]`` so the
    window neither degenerates to a single tap nor gets truncated into a box.
    """

    def __init__(self, num_channels: int, kernel_size: int, stride: int,
                 init_width: float = 0.4, max_decimation: int = 1) -> None:
        super().__init__(kernel_size, stride, max_decimation)
        self.width = nn.Parameter(torch.full((num_channels,), init_width))
        self.width_range = (2.0 / kernel_size, 0.5)

    def constrained_width(self) -> Tensor:
        return self.width.clamp(*self.width_range)

    def window_values(self, offsets: Tensor, channels: Tensor | None) -> Tensor:
        width = self.constrained_width()
        width = (width if channels is None else width[channels]).unsqueeze(1)
        return torch.exp(-0.5 * (offsets / width) ** 2)

    def bandwidth(self) -> Tensor:
        sigma_samples = self.constrained_width().detach() * self.half
        return _TAIL / (2 * math.pi * sigma_samples)


class MovingAverage(WindowPooling):
    """Fixed box-car average over ``2 extent + 1`` samples; no parameters.

    A box's response decays only as ``1 / f``, so on a decimated grid some energy
    fluctuation still aliases into the frames (about 0.4 % typical, up to ~10 % on single
    frames at a grid of 4); use ``decimation=1`` or the Gaussian window where that matters.
    """

    def __init__(self, num_channels: int, kernel_size: int, stride: int,
                 max_decimation: int = 1) -> None:
        super().__init__(kernel_size, stride, max_decimation)
        self.num_channels = num_channels
        self.register_buffer("_anchor", torch.empty(0), persistent=False)

    def window_values(self, offsets: Tensor, channels: Tensor | None) -> Tensor:
        inside = (offsets.abs() <= self.extent / self.half + 1e-6).float()
        return (inside / (2 * self.extent + 1)).unsqueeze(0)

    def bandwidth(self) -> Tensor:
        # the main lobe and the first sidelobes: 4 / (window length) cycles per sample
        return torch.full((self.num_channels,), 4.0 / (2 * self.extent + 1),
                          device=self._anchor.device)


FILTERBANK_POOLINGS: dict[str, Callable[..., WindowPooling]] = {
    "gaussian": GaussianLowpass,
    "avg": MovingAverage,
}
