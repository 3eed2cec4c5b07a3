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
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import Tensor, nn

# Room for the longest kernel to grow (Q rising, or the lowest bin moving down) before its
# window is cut by the kernel support.
_HEADROOM = 1.25
_SHORTEST_WINDOW = 4.0  # samples


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

    @property
    def frequencies(self) -> Tensor:
        """Centre frequencies in Hz ``(bins,)``, kept inside (0, Nyquist)."""
        return self.log_frequency.exp().clamp(max=0.499 * self.sample_rate)

    @property
    def window_lengths(self) -> Tensor:
        """Window length of every bin in samples ``(bins,)``: ``Q · sr / f``."""
        lengths = self.log_q.exp() * self.sample_rate / self.frequencies
        return lengths.clamp(_SHORTEST_WINDOW, self.kernel_size)

    def kernels(self) -> tuple[Tensor, Tensor]:
        """Real and imaginary kernels ``(bins, 1, kernel_size)``, each L1-normalised."""
        lengths = rearrange(self.window_lengths, "bins -> bins 1")
        t = torch.arange(self.kernel_size, device=lengths.device) - self.kernel_size // 2
        position = t / lengths  # (bins, taps), in [-1/2, 1/2] inside each window
        window = torch.where(position.abs() < 0.5, 0.5 + 0.5 * torch.cos(2 * math.pi * position),
                             torch.zeros_like(position))
        window = window / window.sum(dim=1, keepdim=True)
        phase = 2 * math.pi * rearrange(self.frequencies, "bins -> bins 1") * t / self.sample_rate
        return (rearrange(window * torch.cos(phase), "bins taps -> bins 1 taps"),
                rearrange(window * torch.sin(phase), "bins taps -> bins 1 taps"))

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples)`` -> magnitudes ``(batch, bins, frames)``, frames centred on
        multiples of the hop (reflect padding, as nnAudio and librosa do)."""
        real, imag = self.kernels()
        padded = F.pad(waveform.unsqueeze(1), (self.kernel_size // 2,) * 2, mode="reflect")
        both = F.conv1d(padded, torch.cat([real, imag]), stride=self.hop_length)
        re, im = both.chunk(2, dim=1)
        scale = rearrange(self.window_lengths.sqrt(), "bins -> 1 bins 1")
        return torch.sqrt(re.square() + im.square() + 1e-8) * scale

    def learned_filters(self) -> dict[str, Tensor]:
        """Centre frequencies and bandwidths (``f / Q``) in Hz, for the filter plots."""
        frequencies = self.frequencies.detach()
        return {"center_hz": frequencies.clone(),
                "bandwidth_hz": frequencies / self.log_q.detach().exp()}
