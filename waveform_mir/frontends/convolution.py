"""Filterbank convolution of a waveform through the FFT.

Learnable filterbanks (SincNet, LEAF) use long kernels (hundreds of taps) at stride 1 over
every sample. Direct convolution then costs ``filters x taps`` multiply-adds per sample — tens
of GFLOPs per batch, several times a whole CNN backbone. Multiplying spectra costs
``O(n log n)`` per channel instead, roughly ten times less for 250-400 taps, and autograd
differentiates through ``torch.fft`` for free, so the kernels stay learnable.
"""

from __future__ import annotations

import torch
from torch import Tensor


def fast_fft_size(minimum: int) -> int:
    """Smallest ``2^a 3^b 5^c >= minimum``: sizes pocketfft/cuFFT handle fastest."""
    best = 1 << max(minimum - 1, 0).bit_length()
    power5 = 1
    while power5 < best:
        power35 = power5
        while power35 < best:
            size = power35
            while size < minimum:
                size *= 2
            best = min(best, size)
            power35 *= 3
        power5 *= 5
    return best


def fft_conv1d(waveform: Tensor, kernels: Tensor) -> Tensor:
    """'Same'-length linear convolution of every waveform with every kernel.

    Args:
        waveform: ``(batch, samples)``, real.
        kernels: ``(filters, taps)``, real or complex, ``taps`` odd so the output is centred.

    Returns:
        ``(batch, filters, samples)``: complex if ``kernels`` is complex, else real.
        Equivalent to ``conv1d`` with ``padding=taps // 2`` on time-reversed kernels (i.e. true
        convolution); for the symmetric envelopes used here that only conjugates the output.
    """
    samples, taps = waveform.shape[-1], kernels.shape[-1]
    size = fast_fft_size(samples + taps - 1)
    start = taps // 2
    if kernels.is_complex():
        spectrum = torch.fft.fft(waveform, n=size).unsqueeze(1) * torch.fft.fft(kernels, n=size)
        full = torch.fft.ifft(spectrum, n=size)
    else:
        spectrum = torch.fft.rfft(waveform, n=size).unsqueeze(1) * torch.fft.rfft(kernels, n=size)
        full = torch.fft.irfft(spectrum, n=size)
    return full[..., start : start + samples]


def analysis_size(samples: int, taps: int, decimation: int) -> int:
    """DFT length for :func:`band_envelopes`: a multiple of ``decimation``, no circular wrap."""
    return decimation * fast_fft_size(-(-(samples + taps) // decimation))


def band_envelopes(
    waveform: Tensor, spectra: Tensor, center_bins: Tensor, decimation: int
) -> Tensor:
    """Complex envelope of each band, computed directly at ``1 / decimation`` of the rate.

    A band-pass output is a narrow-band signal ``y[n] = e^{i w_c n} b[n]``; its energy
    ``|y|^2 = |b|^2`` only needs the slowly varying ``b``. Cutting the ``N / decimation`` DFT
    bins around each centre and inverting them at that size yields ``b`` sampled every
    ``decimation`` samples — exact as long as each response is negligible outside
    ``+- pi / decimation`` of its centre, and ``decimation`` times less work and memory than
    filtering at the full rate. Only positive-frequency bands are kept, so a real filter's
    energy comes out as its analytic envelope (half of ``y^2`` on average).

    Args:
        waveform: ``(batch, samples)``, real.
        spectra: zero-phase filter responses on the ``N``-point DFT grid, ``(filters, N)``,
            with ``N`` from :func:`analysis_size`.
        center_bins: ``(filters,)`` integer DFT bin of each band's centre.
        decimation: output sample spacing, dividing ``N``.

    Returns:
        ``(batch, filters, ceil(samples / decimation))`` complex envelopes.
    """
    size = spectra.shape[-1]
    width = size // decimation
    offsets = torch.fft.fftfreq(width, 1.0 / width, device=waveform.device).long()
    index = (center_bins.view(-1, 1) + offsets.view(1, -1)) % size  # (filters, width)
    spectrum = torch.fft.fft(waveform, n=size)
    band = spectrum[:, index] * (spectra.gather(1, index) / decimation)  # scale the small factor
    envelope = torch.fft.ifft(band, dim=-1)
    return envelope[..., : -(-waveform.shape[-1] // decimation)]
