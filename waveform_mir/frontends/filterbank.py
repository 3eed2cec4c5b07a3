"""A learnable filterbank turned into a time-frequency map.

The pipeline of LEAF, and of SincNet used as a spectrogram: filter the waveform with a bank of
band-pass kernels, take the energy of each band, low-pass pool it down to the frame rate, then
compress. Each step is a swappable module, so "LEAF" and "SincNet filterbank + log" are two
instantiations of one class rather than two copies of the same code.

Filtering every band at the full rate was the front-end's dominant cost, though the pooling
throws away everything faster than the frame rate. So each band's energy is computed on its
own grid (as EfficientLEAF groups its bands), with
:func:`~waveform_mir.frontends.convolution.band_envelopes` straight from one FFT of the crop:
band ``k`` is sampled ``q_k`` times per hop, every ``d_k = hop / q_k`` samples, with the
fewest permitted ``q_k`` for which ``d_k (B_k + P_k) <= 1``, where ``B_k`` is the band's
two-sided width (response above 1e-4) and ``P_k`` its pooling window's bandwidth. That is the
rate at which the pooling sum on the coarse grid has no alias (Poisson summation: the product
of window and energy is band-limited to ``B_k + P_k``), so narrow low bands are filtered at a
20-60 times lower rate than the sample rate, and the grids follow the filters as they learn.
``d_k`` need not be whole: grids spaced by divisors of the hop only (1, 2, 4, .. 64 for a hop
of 256) held the bands at up to twice the rate they need, about 1.5 times on average.
``exact = True`` puts every band on the full-rate grid: the reference the fast path is tested
against.

The energies are pooled circularly over the whole analysis length, so the frames at a
crop's edges also pool the filters' ringing past its ends (where LEAF's "same" convolution
cuts each band signal at the crop): every windowed sum is then over a smooth function, which
the coarse grids reproduce, and the analysis length leaves room for ringing and window
without wrapping round.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.frontends.convolution import (
    analysis_size,
    band_envelopes,
    cut_bins,
    grid_choices,
    merge_rates,
    periodic_extension,
    points_per_hop,
)
from waveform_mir.frontends.normalisation import FeatureNorm
from waveform_mir.frontends.pooling import WindowPooling


class SquaredMagnitude(torch.autograd.Function):
    """``|envelope|^2``, real, saving only the envelope and with a one-pass backward
    (``2 g b``): the band tensors are the front-end's largest."""

    @staticmethod
    def forward(ctx, envelope: Tensor) -> Tensor:
        ctx.save_for_backward(envelope)
        # one pass fewer than re^2 + im^2 (2 % of LEAF's and SincNet's front-end), and 4x
        # faster than a sum over view_as_real or |envelope|^2
        return torch.addcmul(envelope.real.square(), envelope.imag, envelope.imag)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (envelope,) = ctx.saved_tensors
        return envelope * (2 * grad)


class FilterbankFrontend(Frontend):
    """filters -> |envelope|^2 on per-band grids -> pooling -> compression -> per-band norm.

    Args:
        filters: provides ``center_bins(n) -> (bands,)`` (on an ``n``-point DFT grid),
            ``spectra_at(groups, n)`` (zero-phase responses at chosen bins of that grid,
            one ``(n_bands, width)`` tensor per group), ``support() -> (bands,)``
            (two-sided width in cycles per sample, detached), ``ringing()`` (samples a
            band signal lasts past the crop) and ``describe()`` with at least ``center_hz``
            and ``bandwidth_hz``.
        pooling: a :class:`~waveform_mir.frontends.pooling.WindowPooling` built with the same
            ``max_decimation``.
        compression: shape-preserving, e.g. log or PCEN.
        num_bands: number of filters.
        max_decimation: the coarsest grid spacing a band may use, in samples
            (:func:`~waveform_mir.frontends.convolution.grid_choices` lists the permitted
            grids); 1 filters every band at the full rate.

    Shapes: ``(batch, samples) -> (batch, 1, bands, (samples - 1) // stride + 1)``.
    """

    output_kind: OutputKind = "2d"

    def __init__(
        self,
        filters: nn.Module,
        pooling: WindowPooling,
        compression: nn.Module,
        num_bands: int,
        max_decimation: int = 1,
    ) -> None:
        super().__init__()
        self.max_decimation = max_decimation
        # Distinct grids are groups of a few dozen small operations each; one is taken to
        # cost as much as 512 more points. Timed on LEAF's grid cell: 8 groups at 512 were
        # 5 % faster than 4 at 2048, 3 at 4096 6 % slower (pooling as a matrix product made
        # a group cheaper than it was with conv1d).
        self.max_groups = 8
        self.group_cost = 512
        self.exact = False
        self.filters = filters
        self.pooling = pooling
        self.compression = compression
        self.norm = FeatureNorm(num_bands)

    def analysis_size(self, samples: int) -> int:
        """DFT length for a crop of ``samples``: room for ringing and pooling, no wrap, and
        a multiple of the hop, so that every grid of a whole number of points per hop
        fits it."""
        reach = 2 * (self.filters.ringing() + self.pooling.extent)  # both ends
        return analysis_size(samples, reach, self.pooling.stride)

    def points_per_hop(self, samples: int) -> Tensor:
        """``(bands,)`` long: how many points per hop each band's energy is computed at,
        for crops of ``samples``."""
        hop = self.pooling.stride
        if self.exact:
            return torch.full_like(self.filters.support(), hop, dtype=torch.long)
        size = self.analysis_size(samples)
        choices = grid_choices(hop, self.pooling.extent, self.max_decimation, size)
        own = points_per_hop(self.filters.support() + self.pooling.bandwidth(), hop, choices)
        return merge_rates(own, size // hop, self.group_cost, self.max_groups)

    def energies(self, waveform: Tensor) -> Tensor:
        """Pooled band energies ``(batch, bands, frames)``, every band from its own grid."""
        samples, hop = waveform.shape[-1], self.pooling.stride
        size = self.analysis_size(samples)
        centres, per_hop = self.filters.center_bins(size), self.points_per_hop(samples)
        rates = per_hop.unique().tolist()
        spectrum = periodic_extension(torch.fft.fft(waveform, n=size), size * rates[-1] // hop)
        groups = [(bands, cut_bins(centres[bands], size, size * rate // hop))
                  for rate in rates for bands in [(per_hop == rate).nonzero().squeeze(1)]]
        frames = (samples - 1) // hop + 1
        pooled = []
        for rate, (bands, bins), responses in zip(
                rates, groups, self.filters.spectra_at(groups, size), strict=True):
            energy = SquaredMagnitude.apply(band_envelopes(spectrum, responses, bins, size))
            pooled.append(self.pooling(energy, rate, bands)[..., :frames])
        order = torch.cat([bands for bands, _ in groups])
        return torch.cat(pooled, dim=1)[:, order.argsort()]

    def forward(self, waveform: Tensor) -> Tensor:
        return self.norm(self.compression(self.energies(waveform))).unsqueeze(1)

    def learned_filters(self) -> dict[str, Tensor]:
        return self.filters.describe()
