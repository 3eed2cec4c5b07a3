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
    """DFT length for :func:`band_envelopes`: a multiple of ``decimation`` (and so of each of
    its divisors), with no circular wrap of a ``taps``-long filter over ``samples``."""
    return decimation * fast_fft_size(-(-(samples + taps) // decimation))


def cut_bins(center_bins: Tensor, size: int, decimation: int) -> Tensor:
    """The ``size / decimation`` consecutive DFT bins (modulo ``size``) around each centre,
    ``(filters, width)`` long, from ``centre - width / 2``: the band :func:`band_envelopes`
    keeps. Consecutive bins are cut as one slice of the spectrum rather than gathered one
    by one."""
    width = size // decimation
    offsets = torch.arange(width, device=center_bins.device) - width // 2
    return (center_bins.view(-1, 1) + offsets.view(1, -1)) % size


def circular_slices(spectrum: Tensor, starts: Tensor, width: int) -> Tensor:
    """``spectrum[:, (starts[f] + j) % N]`` for every row ``f`` and ``j < width``,
    ``(batch, rows, width)``, from ``spectrum`` ``(batch, N)`` and ``starts`` ``(rows,)``.

    The same values as indexing with the full ``(rows, width)`` table of bins, but each row
    is one contiguous run of an extended spectrum (its first ``width - 1`` bins appended,
    so that runs may wrap round): a copy of rows, not an element-wise gather, which was the
    largest single cost of the frequency-domain front-ends.
    """
    size = spectrum.shape[-1]
    extended = torch.cat([spectrum, spectrum[..., : width - 1]], dim=-1)
    return extended.unfold(-1, width, 1)[:, starts % size]


def band_envelopes(spectrum: Tensor, responses: Tensor, bins: Tensor, decimation: int) -> Tensor:
    """Complex envelope of each band, computed directly at ``1 / decimation`` of the rate.

    A band-pass output is a narrow-band signal ``y[n] = e^{i w_c n} b[n]``; its energy
    ``|y|^2 = |b|^2`` only needs the slowly varying ``b``. Cutting the ``N / decimation`` DFT
    bins around each centre and inverting them at that size yields ``b`` sampled every
    ``decimation`` samples (times ``(-1)^n``: the cut starts half its width below the
    centre, which leaves every magnitude as it is) — exact as long as each response is
    negligible outside ``+- pi / decimation`` of its centre, and ``decimation`` times less
    work and memory than filtering at the full rate. With ``decimation=1`` every bin is
    kept: plain filtering.

    Args:
        spectrum: the waveforms' ``N``-point DFT, ``(batch, N)`` complex, ``N`` from
            :func:`analysis_size` (computed once and shared by every group of bands).
        responses: zero-phase filter responses at ``bins``, ``(filters, width)``.
        bins: from :func:`cut_bins`, ``(filters, width)`` with ``width = N / decimation``,
            consecutive modulo ``N`` from ``bins[:, 0]``.
        decimation: output sample spacing, dividing ``N``.

    Returns:
        ``(batch, filters, width)`` complex envelopes at samples ``0, d, 2d, ..``; the
        points from the crop's length on hold the filters' ringing past its end and, wrapped
        round, before its start.
    """
    band = circular_slices(spectrum, bins[:, 0], bins.shape[-1])
    band = band * (responses / decimation)  # scale the small factor
    return torch.fft.ifft(band, dim=-1)


def coarsest_grids(support: Tensor, decimations: list[int]) -> Tensor:
    """For each band the largest of ``decimations`` whose rate ``1 / d`` holds ``support``.

    Args:
        support: ``(bands,)`` cycles per sample each band's energy needs (detached).
        decimations: permitted spacings, each dividing the analysis size; 1 among them.

    Returns:
        ``(bands,)`` long: ``max{d : d * support <= 1}``, 1 where none fits.
    """
    choices = torch.tensor(sorted(decimations), device=support.device)
    fits = choices.view(1, -1) * support.view(-1, 1) <= 1.0  # (bands, choices)
    return torch.where(fits, choices.view(1, -1), torch.ones_like(choices).view(1, -1)).amax(1)


def divisors(number: int) -> list[int]:
    """Every positive divisor of ``number``, ascending."""
    return [d for d in range(1, number + 1) if number % d == 0]


def default_max_decimation(stride: int, limit: int = 64) -> int:
    """The largest divisor of a pooling ``stride`` up to ``limit``: the coarsest grid the
    narrowest bands get unless a recipe says otherwise (below 250 Hz at 16 kHz a Gaussian
    pooling window's own bandwidth leaves no band room)."""
    return max(d for d in divisors(stride) if d <= limit)
