"""Waveform augmentations for contrastive views, drawn per example on a whole batch.

What a view may change is what the representation learns to ignore (CLMR's chain, Spijkervet
& Burgoyne 2021): level (a random gain), polarity (a sign flip, inaudible), background noise
(white noise at a random SNR) and colour (a random low- or high-pass). Every draw is per
example and every operation is a batched tensor operation on the device, so augmenting costs a
few element-wise passes and one real FFT pair, not a Python loop over clips.

The filter is applied in the frequency domain as a zero-phase Butterworth magnitude
``1 / sqrt(1 + (f / f_c)^(2n))`` (low-pass) or ``1 / sqrt(1 + (f_c / f)^(2n))`` (high-pass);
a view's FFT is circular, so its first and last milliseconds see a little of each other, a
negligible smear at the cut-offs used.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def uniform(low: float, high: float, count: int, device: torch.device,
            generator: torch.Generator | None) -> Tensor:
    """``(count,)`` draws from U(low, high)."""
    return low + (high - low) * torch.rand(count, device=device, generator=generator)


def chance(probability: float, count: int, device: torch.device,
           generator: torch.Generator | None) -> Tensor:
    """``(count,)`` booleans, each True with ``probability``."""
    return torch.rand(count, device=device, generator=generator) < probability


class WaveformAugment:
    """Random gain, polarity, noise and filtering of ``(views, samples)`` waveforms.

    Args:
        sample_rate: the views' rate, for the filter cut-offs in Hz.
        gain_db: gain drawn from U(-gain_db, +gain_db) dB for every view.
        polarity: probability of a sign flip.
        noise: probability of adding white noise, at an SNR drawn from ``noise_snr_db``.
        filter: probability of a random filter, low- or high-pass with equal odds, its cut-off
            log-uniform in ``filter_hz`` (default 200 Hz to 4 kHz, or 0.4 × the rate when
            that is lower), of Butterworth order ``filter_order``.
    """

    def __init__(self, sample_rate: int, gain_db: float = 6.0, polarity: float = 0.5,
                 noise: float = 0.3, noise_snr_db: tuple[float, float] = (10.0, 40.0),
                 filter: float = 0.5, filter_hz: tuple[float, float] | None = None,
                 filter_order: int = 2) -> None:
        filter_hz = filter_hz or (200.0, min(4000.0, 0.4 * sample_rate))
        if not 0 < filter_hz[0] <= filter_hz[1] < sample_rate / 2:
            raise ValueError(f"filter_hz {filter_hz} must lie inside (0, {sample_rate / 2}) Hz")
        self.sample_rate = sample_rate
        self.gain_db, self.polarity = gain_db, polarity
        self.noise, self.noise_snr_db = noise, tuple(noise_snr_db)
        self.filter, self.filter_hz, self.filter_order = filter, tuple(filter_hz), filter_order

    def __call__(self, views: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """``(N, T)`` → ``(N, T)`` augmented; ``generator`` (default: torch's global RNG,
        which the loop seeds per step) makes the draws repeatable."""
        count, device = views.shape[0], views.device
        views = self.filtered(views, generator)
        if self.noise > 0:
            snr_db = uniform(*self.noise_snr_db, count, device, generator)
            level = views.pow(2).mean(dim=-1).sqrt().clamp_min(1e-5) * 10 ** (-snr_db / 20)
            noise = torch.randn(views.shape, device=device, generator=generator)
            added = chance(self.noise, count, device, generator)
            views = views + (added * level)[:, None] * noise
        gain = 10 ** (uniform(-self.gain_db, self.gain_db, count, device, generator) / 20)
        sign = 1 - 2 * chance(self.polarity, count, device, generator).float()
        return views * (gain * sign)[:, None]

    def filtered(self, views: Tensor, generator: torch.Generator | None) -> Tensor:
        """Views with a random low- or high-pass applied to the chosen ones (see module)."""
        count, samples, device = views.shape[0], views.shape[-1], views.device
        if self.filter <= 0:
            return views
        low, high = (math.log(f) for f in self.filter_hz)
        cutoff = uniform(low, high, count, device, generator).exp()[:, None]
        frequencies = torch.fft.rfftfreq(samples, 1 / self.sample_rate).to(device)
        ratio = (frequencies[None] / cutoff).clamp_min(1e-6)
        high_pass = chance(0.5, count, device, generator)[:, None]
        ratio = torch.where(high_pass, 1 / ratio, ratio)
        response = (1 + ratio ** (2 * self.filter_order)).rsqrt()
        applied = chance(self.filter, count, device, generator)[:, None]
        response = torch.where(applied, response, torch.ones_like(response))
        return torch.fft.irfft(torch.fft.rfft(views) * response, n=samples)
