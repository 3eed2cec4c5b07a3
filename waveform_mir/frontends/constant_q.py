"""A constant-Q transform whose bins learn their centre frequency and Q, not 2.75 M kernel taps.

nnAudio's ``CQT1992v2`` with ``trainable=True`` makes every tap of every complex kernel a free
parameter: for 84 bins from 32.7 Hz at 16 kHz that is 2 × 84 × 16384 taps, 89 % of them zero
padding around Hann-windowed complex exponentials. Adam moves each tap by about the learning
rate per step, far more than the taps' own size (~1e-4), so within the warm-up every bin loses
its frequency and the transform turns to noise.

Here each bin keeps nnAudio's kernel *shape* — a Hann window of ``Q · sr / f`` samples times
``exp(2πi f t / sr)``, L1-normalised, magnitudes scaled by the square root of the window
length as librosa does — and only two numbers per bin are learned: ``log f`` and ``log Q``.
The kernels are regenerated from them at every forward pass, so a bin can move in frequency
and sharpen or widen, but it stays a band-pass filter and cannot collapse. At initialisation
the output matches nnAudio's frozen CQT. Output: ``(batch, bins, frames)`` magnitudes.

Convolving with kernels of up to ``Q · sr / f_min`` taps (10k at 16 kHz) costs billions of
multiply-adds per batch, almost all on frames nobody asked for. The fast path works in the
frequency domain instead, as the efficient CQT of Schörkhuber & Klapuri does: one FFT of the
padded crop, the kernels' spectra once per step (not per item), and each bin keeps only the
DFT bins where its Hann-windowed kernel has energy (``±32 / window`` cycles per sample: the
main lobe and the sidelobes down to 1e-5), its response there in closed form; bins with short
windows are cheaper convolved in time over their own few taps. Sampling a bin's output every
``hop`` samples is folding its spectrum modulo ``N / hop`` bins, which is exact, so one short
inverse DFT per bin gives every frame. ``exact = True`` runs the time-domain convolution instead.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

from waveform_mir.frontends.convolution import (
    circular_slices,
    fast_fft_size,
    merge_rates,
    periodic_extension,
)

# Room for the longest kernel to grow (Q rising, or the lowest bin moving down) before its
# window is cut by the kernel support.
_HEADROOM = 1.25
_SHORTEST_WINDOW = 4.0  # samples
_KEPT_LOBES = 32.0  # DFT support kept on each side of a bin's centre, in units of 1 / window
# Bins keeping about as many DFT bins share one group (one slice, product, fold and inverse
# DFT; convolution.merge_rates), at most this many, each costing about this many DFT bins.
_MAX_GROUPS = 6
_GROUP_COST = 2048


class LearnableConstantQ(nn.Module):
    """Constant-Q magnitudes from per-bin learnable centre frequencies and quality factors.

    Args:
        sample_rate: input rate in Hz.
        frequencies: initial centre frequency of every bin in Hz, shape ``(bins,)``.
        q: initial quality factor (centre frequency / bandwidth), shared by all bins.
        hop_length: samples between frames.
    """

    def __init__(self, sample_rate: int, frequencies: Tensor, q: float, hop_length: int) -> None:
        super().__init__()
        self.sample_rate = sample_rate
        self.hop_length = hop_length
        self.log_frequency = nn.Parameter(frequencies.double().log().float())
        self.log_q = nn.Parameter(torch.full_like(self.log_frequency, math.log(q)))
        longest = q * sample_rate / float(frequencies.min())
        self.kernel_size = 2 * int(math.ceil(longest * _HEADROOM / 2)) + 1  # odd: centred
        self.exact = False

    @property
    def frequencies(self) -> Tensor:
        """Centre frequencies in Hz ``(bins,)``, kept inside (0, Nyquist)."""
        return self.log_frequency.exp().clamp(max=0.499 * self.sample_rate)

    @property
    def window_lengths(self) -> Tensor:
        """Window length of every bin in samples ``(bins,)``: ``Q · sr / f``."""
        lengths = self.log_q.exp() * self.sample_rate / self.frequencies
        return lengths.clamp(_SHORTEST_WINDOW, self.kernel_size)

    def kernels(self, bins: Tensor | None = None, half: int | None = None
                ) -> tuple[Tensor, Tensor]:
        """Real and imaginary kernels ``(bins, 1, taps)``, each L1-normalised: every bin's
        whole ``kernel_size`` taps, or the ``2 half + 1`` central taps of the chosen ``bins``
        (enough for windows shorter than ``2 half``)."""
        frequencies, lengths = self.frequencies, self.window_lengths
        if bins is not None:
            frequencies, lengths = frequencies[bins], lengths[bins]
        half = self.kernel_size // 2 if half is None else half
        lengths = rearrange(lengths, "bins -> bins 1")
        t = torch.arange(-half, half + 1, device=lengths.device)
        position = t / lengths  # (bins, taps), in [-1/2, 1/2] inside each window
        window = torch.where(position.abs() < 0.5, 0.5 + 0.5 * torch.cos(2 * math.pi * position),
                             torch.zeros_like(position))
        window = window / window.sum(dim=1, keepdim=True)
        phase = 2 * math.pi * rearrange(frequencies, "bins -> bins 1") * t / self.sample_rate
        return (rearrange(window * torch.cos(phase), "bins taps -> bins 1 taps"),
                rearrange(window * torch.sin(phase), "bins taps -> bins 1 taps"))

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples)`` -> magnitudes ``(batch, bins, frames)``, frames centred on
        multiples of the hop (reflect padding, as nnAudio and librosa do)."""
        padded = F.pad(waveform.unsqueeze(1), (self.kernel_size // 2,) * 2, mode="reflect")
        if self.exact:
            real, imag = self.kernels()
            both = F.conv1d(padded, torch.cat([real, imag]), stride=self.hop_length)
            re, im = both.chunk(2, dim=1)
            squared = re.square() + im.square()
        else:
            squared = self._fast_power(padded.squeeze(1))
        scale = rearrange(self.window_lengths.sqrt(), "bins -> 1 bins 1")
        return torch.sqrt(squared + 1e-8) * scale

    def _fast_power(self, padded: Tensor) -> Tensor:
        """``|sum_t padded[m hop + t] kernel[t]|^2`` for every bin and frame, ``(batch, bins,
        frames)``, from ``padded`` ``(batch, length)``.

        A bin whose window is short has a wide spectrum and few taps: it is convolved in
        time with just its taps. The others are computed from spectra: with ``N = hop · M``,
        the product spectrum's DFT bins congruent modulo ``M`` add up to the spectrum of the
        bin's output sampled every ``hop`` samples; the bins are cut starting anywhere,
        which only multiplies each frame by a unit phase.
        """
        frames = (padded.shape[-1] - self.kernel_size) // self.hop_length + 1
        folds = fast_fft_size(-(-padded.shape[-1] // self.hop_length))  # M
        size = folds * self.hop_length  # N
        lengths = self.window_lengths.detach()
        needed = (2 * _KEPT_LOBES * size / lengths).clamp(max=size)
        multiples = torch.ceil(needed / folds).long()  # blocks of M DFT bins to keep
        # taps x frames against kept DFT bins: a strided convolution over a bin's own taps
        # beats its slice, product and inverse DFT below 45 (measured, 1 thread)
        in_time = 2 * lengths * frames < 45 * multiples * folds
        multiples[~in_time] = merge_rates(multiples[~in_time], folds, _GROUP_COST, _MAX_GROUPS)
        multiples[in_time] = 0
        # the crop advanced by half a kernel, so that kernel taps count from their centre
        whole = F.pad(padded, (0, size - padded.shape[-1]))
        spectrum = periodic_extension(torch.fft.fft(whole.roll(-(self.kernel_size // 2), dims=-1)),
                                      min(max(int(multiples.max()), 1) * folds, size))
        power = []
        for multiple in multiples.unique().tolist():
            bins = (multiples == multiple).nonzero().squeeze(1)
            if multiple == 0:
                sampled = self._short_kernels(padded, bins, int(lengths[bins].max()) // 2 + 1)
            else:
                width = min(multiple * folds, size)
                offsets = rearrange(torch.arange(width, device=padded.device) - width // 2,
                                    "width -> 1 width")
                centres = torch.round(-self.frequencies[bins].detach() * size / self.sample_rate)
                unwrapped = centres.long().unsqueeze(1) + offsets  # (n, width) DFT bins
                product = (circular_slices(spectrum, unwrapped[:, 0], width, size)
                           * self._responses(bins, unwrapped, size))
                folded = product.unflatten(-1, (width // folds, folds)).sum(dim=-2)
                sampled = torch.fft.ifft(folded, dim=-1)[..., :frames] / self.hop_length
            power.append((bins, sampled.real.square() + sampled.imag.square()))
        order = torch.cat([bins for bins, _ in power]).argsort()
        return torch.cat([values for _, values in power], dim=1)[:, order]

    def _responses(self, bins: Tensor, unwrapped: Tensor, size: int) -> Tensor:
        """``sum_t kernel[t] e^{2 pi i k t / N}`` of the chosen bins at DFT bins ``k``
        (``(n, width)``, unwrapped), real ``(n, width)``, in closed form.

        A kernel is ``w[t] e^{i phi t} / sum(w)`` with the Hann window
        ``w[t] = 1/2 + cos(2 pi t / L) / 2`` on ``|t| < L / 2``: its transform at ``theta`` is
        ``W(phi + theta) / W(0)``, and ``W`` is three Dirichlet kernels
        ``D(x) = sin((T + 1/2) x) / sin(x / 2)``, ``T = ceil(L / 2) - 1``, at ``x`` and
        ``x +- 2 pi / L``: the DFT of the very taps :meth:`kernels` makes, at a cost per
        kept DFT bin rather than per tap. Float64, since ``T x`` reaches thousands of radians.
        """
        frequencies = self.frequencies[bins].double().unsqueeze(1)
        lengths = self.window_lengths[bins].double().unsqueeze(1)
        half = torch.ceil(lengths.detach() / 2) - 1
        x = 2 * math.pi * (unwrapped.double() / size + frequencies / self.sample_rate)
        step = 2 * math.pi / lengths

        def hann(x: Tensor) -> Tensor:
            return 0.5 * _dirichlet(x, half) + 0.25 * (_dirichlet(x + step, half)
                                                       + _dirichlet(x - step, half))

        return (hann(x) / hann(torch.zeros_like(lengths))).float()

    def _short_kernels(self, padded: Tensor, bins: Tensor, half: int) -> Tensor:
        """Complex outputs ``(batch, n, frames)`` of the chosen bins, whose windows are
        shorter than ``2 half``: a strided convolution over just their central taps."""
        real, imag = self.kernels(bins, half)
        start = self.kernel_size // 2 - half
        signal = padded[:, start : padded.shape[-1] - start].unsqueeze(1)
        both = F.conv1d(signal, torch.cat([real, imag]), stride=self.hop_length)
        return torch.complex(*both.chunk(2, dim=1))

    def learned_filters(self) -> dict[str, Tensor]:
        """Centre frequencies and bandwidths (``f / Q``) in Hz, for the filter plots."""
        frequencies = self.frequencies.detach()
        return {"center_hz": frequencies.clone(),
                "bandwidth_hz": frequencies / self.log_q.detach().exp()}


def _dirichlet(x: Tensor, half: Tensor) -> Tensor:
    """``sum_{|t| <= half} e^{i x t} = sin((half + 1/2) x) / sin(x / 2)``, ``2 half + 1`` at
    ``x = 0`` (mod ``2 pi``); broadcasts."""
    denominator = torch.sin(x / 2)
    small = denominator.abs() < 1e-9
    ratio = torch.sin((half + 0.5) * x) / torch.where(small, torch.ones_like(x), denominator)
    return torch.where(small, (2 * half + 1).expand_as(x), ratio)
