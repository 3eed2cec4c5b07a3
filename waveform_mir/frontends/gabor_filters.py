"""Complex Gabor filters, the learnable filterbank of LEAF (Zeghidour et al. 2021).

A Gabor filter is a complex sinusoid under a Gaussian envelope,
``phi(t) = exp(i eta t) exp(-t^2 / (2 sigma^2)) / (sqrt(2 pi) sigma)``: ``eta`` is the centre
frequency (radians per sample) and ``sigma`` the envelope width (samples), inversely
proportional to the bandwidth. Its frequency response is a Gaussian bump of unit peak, which
makes the squared modulus of the output a band energy — a mel filterbank in the limit.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from waveform_mir.frontends.scales import mel_points

_FWHM = math.sqrt(2 * math.log(2))  # sigma * (half-width at half maximum in rad/sample)
_BAND_EDGE = math.sqrt(2 * math.log(1e4))  # sigma * (distance where the response is 1e-4)


class GaborFilters(nn.Module):
    """``num_filters`` complex Gabor kernels of ``kernel_size`` taps.

    Initialisation is mel-like: centres at mel-spaced frequencies between ``min_hz`` and
    ``max_hz``, and each full width at half maximum equal to that of the triangular mel filter
    spanning its two neighbours. LEAF's constraints are applied on every call:
    ``eta in [0, pi]`` and ``sigma`` between the value giving a quarter-band filter and the one
    whose envelope fills the kernel. When energies are computed at ``1 / decimation`` of the
    sample rate, the lower bound on ``sigma`` also keeps each response inside
    ``+- pi / decimation`` (below 1e-4 there), i.e. the widest filter spans about
    ``sample_rate / (3.2 decimation)`` at half maximum.
    """

    def __init__(
        self,
        num_filters: int,
        kernel_size: int,
        sample_rate: int,
        min_hz: float = 60.0,
        max_hz: float | None = None,
    ) -> None:
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd for centred filters, got {kernel_size}")
        self.sample_rate = sample_rate
        max_hz = min(max_hz or sample_rate / 2, sample_rate / 2)
        points = mel_points(min_hz, max_hz, num_filters + 2)
        centres_hz = points[1:-1]
        fwhm_hz = (points[2:] - points[:-2]) / 2
        self.center = nn.Parameter(2 * math.pi * centres_hz / sample_rate)
        self.sigma = nn.Parameter(_FWHM * sample_rate / (math.pi * fwhm_hz))
        self.sigma_range = (4 * _FWHM / math.pi, kernel_size * _FWHM / math.pi)
        half = kernel_size // 2
        self.register_buffer("taps", torch.arange(-half, half + 1, dtype=torch.float32), False)

    def constrained(self) -> tuple[Tensor, Tensor]:
        """Valid ``(eta, sigma)``, each ``(num_filters,)``."""
        eta = self.center.clamp(0.0, math.pi)
        sigma = self.sigma.clamp(*self.sigma_range)
        return eta, sigma

    def forward(self) -> Tensor:
        """The kernels, complex ``(num_filters, kernel_size)``."""
        eta, sigma = self.constrained()
        taps = self.taps.unsqueeze(0)
        sigma = sigma.unsqueeze(1)
        envelope = torch.exp(-0.5 * (taps / sigma) ** 2) / (math.sqrt(2 * math.pi) * sigma)
        return torch.polar(envelope, eta.unsqueeze(1) * taps)

    def spectra_at(self, groups: list[tuple[Tensor, Tensor]], size: int) -> list[Tensor]:
        """Zero-phase responses at chosen bins of the ``size``-point DFT grid, per group.

        The Gaussian ``exp(-sigma^2 (w - eta)^2 / 2)`` is the transform of the untruncated
        filter (unit peak), evaluated in closed form instead of by an FFT of the taps; it
        differs from the ``kernel_size``-tap kernel only for envelopes wider than the kernel.

        Args:
            groups: ``(bands, bins)`` pairs: ``(n,)`` filter indices and ``(n, width)``
                bins on the ``size``-point grid.

        Returns:
            ``(n, width)`` real responses per group: the closed form at just the bins a band
            is cut to, ``size / width`` times less work than the whole grid.
        """
        eta, sigma = self.constrained()
        responses = []
        for bands, bins in groups:
            omega = 2 * math.pi * ((bins + size // 2) % size - size // 2) / size
            offset = sigma[bands].unsqueeze(1) * (omega - eta[bands].unsqueeze(1))
            responses.append(torch.exp(-0.5 * offset.square()))
        return responses

    def support(self) -> Tensor:
        """Two-sided width (cycles per sample) over which each response exceeds 1e-4,
        ``(num_filters,)``, detached: ``2 * 4.29 / sigma`` in radians."""
        return _BAND_EDGE / (math.pi * self.constrained()[1].detach())

    def ringing(self) -> int:
        """Samples the widest allowed envelope rings on past a crop's end (to 1e-4):
        its closed-form response is that of the untruncated filter."""
        return math.ceil(_BAND_EDGE * self.sigma_range[1])

    def center_bins(self, size: int) -> Tensor:
        """``(num_filters,)`` DFT bin nearest to each centre frequency."""
        return torch.round(self.constrained()[0].detach() * size / (2 * math.pi)).long()

    def describe(self) -> dict[str, Tensor]:
        """Centre frequency and full width at half maximum in Hz, each ``(num_filters,)``."""
        eta, sigma = (value.detach() for value in self.constrained())
        to_hz = self.sample_rate / (2 * math.pi)
        return {"center_hz": eta * to_hz, "bandwidth_hz": 2 * _FWHM / sigma * to_hz}
