"""Filterbank convolution of a waveform through the FFT.

Learnable filterbanks (SincNet, LEAF) use long kernels (hundreds of taps) at stride 1 over
every sample. Direct convolution then costs ``filters x taps`` multiply-adds per sample — tens
of GFLOPs per batch, several times a whole CNN backbone. Multiplying spectra costs
``O(n log n)`` per channel instead, roughly ten times less for 250-400 taps, and autograd
differentiates through ``torch.fft`` for free, so the kernels stay learnable.
"""

from __future__ import annotations

import math

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


def cut_bins(center_bins: Tensor, size: int, width: int) -> Tensor:
    """The ``width`` consecutive DFT bins (modulo ``size``) around each centre,
    ``(filters, width)`` long, from ``centre - width / 2``: the band :func:`band_envelopes`
    keeps. Consecutive bins are cut as one slice of the spectrum rather than gathered one
    by one."""
    offsets = torch.arange(width, device=center_bins.device) - width // 2
    return (center_bins.view(-1, 1) + offsets.view(1, -1)) % size


def periodic_extension(spectrum: Tensor, width: int) -> Tensor:
    """``(batch, N + width - 1)``: ``spectrum`` ``(batch, N)`` with its first ``width - 1``
    bins appended, so that every run of up to ``width`` consecutive bins modulo ``N`` is
    one contiguous slice. Made once and shared by every group of bands: a copy of the
    whole spectrum per group was a fifth of the CQT's step."""
    return torch.cat([spectrum, spectrum[..., : width - 1]], dim=-1)


def circular_slices(spectrum: Tensor, starts: Tensor, width: int, size: int | None = None
                    ) -> Tensor:
    """``spectrum[:, (starts[f] + j) % N]`` for every row ``f`` and ``j < width``,
    ``(batch, rows, width)``, from ``spectrum`` ``(batch, N)`` and ``starts`` ``(rows,)``.

    The same values as indexing with the full ``(rows, width)`` table of bins, but each row
    is one contiguous run of the :func:`periodic_extension` (so that runs may wrap round):
    a copy of rows, not an element-wise gather, which was the largest single cost of the
    frequency-domain front-ends. ``size`` given, ``spectrum`` is already that extension
    of an ``N = size``-point spectrum, at least ``width - 1`` bins long.
    """
    if size is None:
        size, spectrum = spectrum.shape[-1], periodic_extension(spectrum, width)
    return spectrum[..., : size + width - 1].unfold(-1, width, 1)[:, starts % size]


def band_envelopes(spectrum: Tensor, responses: Tensor, bins: Tensor, size: int | None = None
                   ) -> Tensor:
    """Complex envelope of each band, computed directly at ``width / N`` of the rate.

    A band-pass output is a narrow-band signal ``y[n] = e^{i w_c n} b[n]``; its energy
    ``|y|^2 = |b|^2`` only needs the slowly varying ``b``. Cutting the ``width`` DFT bins
    around each centre and inverting them at that size yields ``b`` sampled every
    ``d = N / width`` samples, whole or not (times a unit-modulus phase ramp: the cut
    starts half its width below the centre, which leaves every magnitude as it is) — exact
    as long as each response is negligible outside the bins kept, and ``d`` times less
    work and memory than filtering at the full rate. With ``width = N`` every bin is kept:
    plain filtering.

    Args:
        spectrum: the waveforms' ``N``-point DFT, ``(batch, N)`` complex, ``N`` from
            :func:`analysis_size` (computed once and shared by every group of bands).
        responses: zero-phase filter responses at ``bins``, ``(filters, width)``.
        bins: from :func:`cut_bins`, ``(filters, width)``, consecutive modulo ``N`` from
            ``bins[:, 0]``.
        size: ``N``, when ``spectrum`` is already its :func:`periodic_extension`.

    Returns:
        ``(batch, filters, width)`` complex envelopes at samples ``0, d, 2d, ..``; the
        points from the crop's length on hold the filters' ringing past its end and, wrapped
        round, before its start.
    """
    width = bins.shape[-1]
    band = circular_slices(spectrum, bins[:, 0], width, size)
    band = band * (responses * (width / (size or spectrum.shape[-1])))  # scale the small factor
    return torch.fft.ifft(band, dim=-1)


def points_per_hop(support: Tensor, hop: int, choices: list[int]) -> Tensor:
    """For each band the fewest of ``choices`` points per ``hop`` samples that hold its
    ``support``: the coarsest grid, of spacing ``d = hop / q``, with ``d * support <= 1``.

    Args:
        support: ``(bands,)`` cycles per sample each band's energy needs (detached).
        hop: the frame hop in samples.
        choices: permitted points per hop, ascending, ``hop`` (the full rate) among them.

    Returns:
        ``(bands,)`` long: ``min{q : q >= hop * support}``, ``hop`` where none fits.
    """
    options = torch.tensor(choices, device=support.device)
    fits = options.view(1, -1) >= hop * support.view(-1, 1)  # (bands, choices)
    fewest = torch.where(fits, options.view(1, -1), torch.full_like(options, hop).view(1, -1))
    return fewest.amin(1)


def merge_rates(per_hop: Tensor, points_per_rate: int, group_cost: int, max_groups: int
                ) -> Tensor:
    """Raise bands onto faster grids where that is cheaper: each distinct grid is a group
    of a few dozen small operations (forward and backward), so eleven grids of 2-8 bands
    each are slower than four slightly finer ones, and one grid of 64 bands than four.

    The cost of a grouping is its points plus ``group_cost`` points per group; an exact
    dynamic programme over the sorted rates finds the cheapest with at most
    ``max_groups`` groups. Bands only ever move up, so none loses accuracy.

    Args:
        per_hop: ``(bands,)`` long, each band's own points per hop.
        points_per_rate: points a band costs per point per hop (analysis size / hop).
        group_cost: what one more group costs, in points.
        max_groups: the most distinct rates to keep.

    Returns:
        ``(bands,)`` long, each ``>=`` its input.
    """
    rates, counts = (values.tolist() for values in per_hop.unique(return_counts=True))
    n = len(rates)
    if n <= 1:
        return per_hop
    # cost[k][i]: fewest points for the bands of rates[:i] in k groups, the last one
    # raised to rates[i - 1]; split[k][i]: where that last group starts
    cost = [[0.0] + [math.inf] * n] + [[math.inf] * (n + 1) for _ in range(max_groups)]
    split = [[0] * (n + 1) for _ in range(max_groups + 1)]
    for k in range(1, max_groups + 1):
        for i in range(1, n + 1):
            for j in range(i):
                candidate = cost[k - 1][j] + sum(counts[j:i]) * rates[i - 1] * points_per_rate
                if candidate < cost[k][i]:
                    cost[k][i], split[k][i] = candidate, j
    groups = min(range(1, max_groups + 1), key=lambda k: cost[k][n] + k * group_cost)
    merged, i = per_hop.clone(), n
    for k in range(groups, 0, -1):
        j = split[k][i]
        merged[(per_hop >= rates[j]) & (per_hop <= rates[i - 1])] = rates[i - 1]
        i = j
    return merged


def grid_choices(hop: int, extent: int, max_decimation: int, size: int) -> list[int]:
    """Points per hop a band may use on an ``size``-point analysis, ascending.

    Every ``q`` from ``hop / max_decimation`` up whose grid (spacing ``hop / q``, whole or
    not) has a number of points ``size q / hop`` that is whole, a multiple of 4 and
    7-smooth (a fast inverse FFT: odd sizes such as 945 cost 1.5 times more per point) and
    a point on both edges of a pooling window reaching ``extent`` samples either side
    (``extent q / hop`` whole); and the full rate ``hop``. The grids spaced by divisors of
    ``max_decimation`` are among them, so no band needs more points than with those
    alone; between them, which double from one to the next, these leave no band far above
    the rate it needs.
    """
    fewest = -(-hop // max_decimation)
    return [q for q in range(fewest, hop)
            if extent * q % hop == 0 and size * q % (4 * hop) == 0
            and _smooth(size * q // hop)] + [hop]


def _smooth(number: int) -> bool:
    """Whether ``number`` has no prime factor above 7."""
    for prime in (2, 3, 5, 7):
        while number % prime == 0:
            number //= prime
    return number == 1


def divisors(number: int) -> list[int]:
    """Every positive divisor of ``number``, ascending."""
    return [d for d in range(1, number + 1) if number % d == 0]


def default_max_decimation(stride: int, limit: int = 64) -> int:
    """The largest divisor of a pooling ``stride`` up to ``limit``: the coarsest grid the
    narrowest bands get unless a recipe says otherwise (below 250 Hz at 16 kHz a Gaussian
    pooling window's own bandwidth leaves no band room)."""
    return max(d for d in divisors(stride) if d <= limit)
