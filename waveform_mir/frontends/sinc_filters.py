"""SincNet band-pass filters (Ravanelli & Bengio 2018), two learnable numbers per filter.

Each filter is the difference of two ideal low-pass filters — a band-pass with cut-offs
``low < high`` — tapered by a Hamming window. Only the cut-offs are learned, so the filterbank
stays interpretable and cannot degenerate into arbitrary kernels.

Cut-offs are stored in cycles per sample, not Hz: Adam moves a parameter by roughly the
learning rate per step whatever its scale, and 1e-3 of the sample rate (16 Hz at 16 kHz) is a
sensible step where 1e-3 Hz would freeze the filters in practice.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
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

    def spectrum(self, size: int) -> Tensor:
        """Zero-phase analytic responses on the ``size``-point DFT grid, ``(num_filters, size)``.

        Negative frequencies are dropped and positive ones doubled (the analytic filter), so
        the output's squared modulus is the band's energy envelope whatever the decimation.
        The kernels are symmetric, so centred on tap 0 their responses are real: one real
        FFT gives them.
        """
        kernels = self()
        half = kernels.shape[-1] // 2
        padded = F.pad(kernels, (0, size - kernels.shape[-1]))
        positive = torch.fft.rfft(torch.roll(padded, -half, dims=-1)).real  # (filters, size/2+1)
        frequency = torch.fft.rfftfreq(size, device=kernels.device)
        analytic = positive * (2.0 * (frequency > 0) * (frequency < 0.5) + (frequency == 0))
        return F.pad(analytic, (0, size - analytic.shape[-1]))

    def spectra_at(self, groups: list[tuple[Tensor, Tensor]], size: int) -> list[Tensor]:
        """The responses of :meth:`spectrum` at chosen DFT bins, for each ``(bands, bins)``
        group (``(n,)`` filters, ``(n, width)`` bins): one FFT of the kernels, then gathers."""
        spectrum = self.spectrum(size)
        return [spectrum[bands].gather(1, bins) for bands, bins in groups]

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
