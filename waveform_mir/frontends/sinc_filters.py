"""SincNet band-pass filters (Ravanelli & Bengio 2018), two learnable numbers per filter.

Each filter is the difference of two ideal low-pass filters — a band-pass with cut-offs
``low < high`` — tapered by a Hamming window. Only the cut-offs are learned, so the filterbank
stays interpretable and cannot degenerate into arbitrary kernels.

Cut-offs are stored in cycles per sample, not Hz: Adam moves a parameter by roughly the
learning rate per step whatever its scale, and 1e-3 of the sample rate (16 Hz at 16 kHz) is a
sensible step where 1e-3 Hz would freeze the filters in practice.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn

from waveform_mir.frontends.scales import mel_points


class SincFilters(nn.Module):
    """``num_filters`` windowed-sinc band-pass kernels of ``kernel_size`` taps.

    Validity is enforced on every call, whatever the optimiser did to the raw parameters:
    ``low = clamp(min_low + |low_|, max=nyquist - min_band)`` and
    ``high = clamp(low + min(min_band + |band_|, max_band), max=nyquist)``, so
    ``0 < low < high <= nyquist``. ``max_band_hz`` (default: no limit) keeps bands narrow
    enough for decimated energy computation. Initial low cut-offs are equally spaced on the
    mel scale from ``min_low_hz``.
    """

    def __init__(
        self,
        num_filters: int,
        kernel_size: int,
        sample_rate: int,
        min_low_hz: float = 50.0,
        min_band_hz: float = 50.0,
        max_band_hz: float | None = None,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for centred filters, got {kernel_size}")
        self.sample_rate = sample_rate
        self.min_low = min_low_hz / sample_rate
        self.min_band = min_band_hz / sample_rate
        self.max_band = (max_band_hz or sample_rate) / sample_rate
        nyquist_hz = sample_rate / 2
        edges = mel_points(min_low_hz, nyquist_hz - (min_low_hz + min_band_hz), num_filters + 1)
        self.low_ = nn.Parameter((edges[:-1] - min_low_hz) / sample_rate)
        self.band_ = nn.Parameter(torch.diff(edges) / sample_rate)
        half = kernel_size // 2
        self.register_buffer("taps", torch.arange(-half, half + 1, dtype=torch.float32), False)
        self.register_buffer(
            "window", torch.hamming_window(kernel_size, periodic=False), persistent=False
        )

    def cutoffs(self) -> tuple[Tensor, Tensor]:
        """Valid ``(low, high)`` cut-offs in cycles per sample, each ``(num_filters,)``."""
        low = (self.min_low + self.low_.abs()).clamp(max=0.5 - self.min_band)
        band = (self.min_band + self.band_.abs()).clamp(max=self.max_band)
        high = (low + band).clamp(max=0.5)
        return low, high

    def forward(self) -> Tensor:
        """The kernels, ``(num_filters, kernel_size)``, unit gain in the pass band."""
        low, high = self.cutoffs()
        taps = self.taps.unsqueeze(0)
        high_pass = 2 * high.unsqueeze(1) * torch.sinc(2 * high.unsqueeze(1) * taps)
        low_pass = 2 * low.unsqueeze(1) * torch.sinc(2 * low.unsqueeze(1) * taps)
        return (high_pass - low_pass) * self.window

    def spectra_at(self, groups: list[tuple[Tensor, Tensor]], size: int) -> list[Tensor]:
        """Zero-phase analytic responses at chosen bins of the ``size``-point DFT grid.

        The DFT of the very taps :meth:`forward` gives, centred on tap 0 (so real: the
        kernels are symmetric), at just the bins each band is cut to. Negative frequencies
        are dropped and positive ones doubled (the analytic filter), so the squared modulus
        of a band's output is its energy envelope whatever the decimation.

        A band's bins run ``k0 + j`` for ``j < width`` (:func:`~waveform_mir.frontends.
        convolution.cut_bins`), and ``cos((a + b) n) = cos(a n) cos(b n) - sin(a n) sin(b n)``
        splits each response into two ``(bands, taps) @ (taps, width)`` products over the
        taps ``n >= 0`` (the kernels are even: ``h[0] + 2 sum h[n] cos(w n)``), phases
        taken modulo ``size`` in integers so they are exact. One ``size``-point FFT of every
        kernel, with the paddings and gathers round it, was a sixth of the filterbank's
        training step; these products are a few MFLOP.

        Args:
            groups: ``(bands, bins)`` pairs: ``(n,)`` filter indices and ``(n, width)``
                bins, consecutive modulo ``size`` from ``bins[:, 0]``.

        Returns:
            ``(n, width)`` real responses per group.
        """
        half = self.taps.numel() // 2
        kernels = self()[:, half:]  # taps 0 .. half; the kernels are even
        kernels = kernels * torch.cat([kernels.new_ones(1), kernels.new_full((half,), 2.0)])
        taps = torch.arange(half + 1, device=kernels.device)
        responses = []
        for bands, bins in groups:
            step_cos, step_sin = _phase_tables(bins.shape[1], half + 1, size, bins.device)
            start = (2 * torch.pi / size) * (bins[:, :1] * taps % size)  # (n, taps)
            weighted = kernels[bands]
            response = (weighted * start.cos()) @ step_cos - (weighted * start.sin()) @ step_sin
            analytic = 2.0 * ((bins > 0) & (2 * bins < size)) + (bins == 0)
            responses.append(response * analytic)
        return responses

    def support(self) -> Tensor:
        """Two-sided width (cycles per sample) of each response, ``(num_filters,)``,
        detached: the pass band plus ``7 / taps`` on both sides, the Hamming window's main
        lobe (``2 / taps``) and its first sidelobes. A Hamming window's sidelobes decay
        only as ``1 / f``, so the cut costs what the margin leaves: about 1e-4 of a band's
        energy (2e-2 on a rare quiet frame) at ``7 / taps``, twice that at ``4 / taps``
        (tests/test_fast_filterbanks.py measures it)."""
        low, high = (edge.detach() for edge in self.cutoffs())
        return high - low + 14.0 / self.taps.numel()

    def ringing(self) -> int:
        """Samples a kernel rings on past a crop's end: half its taps."""
        return self.taps.numel() // 2

    def center_bins(self, size: int) -> Tensor:
        """``(num_filters,)`` DFT bin nearest to each band's centre."""
        low, high = (edge.detach() for edge in self.cutoffs())
        return torch.round((low + high) / 2 * size).long()

    def describe(self) -> dict[str, Tensor]:
        """Centre, bandwidth and cut-offs in Hz, each ``(num_filters,)``, detached."""
        low, high = (edge.detach() * self.sample_rate for edge in self.cutoffs())
        return {
            "center_hz": (low + high) / 2,
            "bandwidth_hz": high - low,
            "low_hz": low,
            "high_hz": high,
        }


@functools.lru_cache(maxsize=16)
def _phase_tables(width: int, taps: int, size: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """``cos`` and ``sin`` of ``2 pi j n / size`` for ``j < width`` and ``n < taps``, each
    ``(taps, width)``: the same for every band and every step at a given cut, and
    computing them was most of the responses' time, so they are kept."""
    phase = (2 * torch.pi / size) * (torch.arange(taps, device=device).view(-1, 1)
                                     * torch.arange(width, device=device) % size)
    return phase.cos(), phase.sin()
