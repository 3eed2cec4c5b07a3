"""SincNet front-ends: as the first layer of a 1D network, or as a learnable spectrogram.

``sinc_conv`` follows SincNet's first block (filters -> |.| -> max-pool -> norm) and feeds
sample-level 1D backbones; by default it replaces "max-pool of |y| over ``pool`` samples" with
the band's analytic envelope sampled every ``pool`` samples — the quantity the max-pool
approximates, without filtering at the full rate. ``sinc_fbank`` treats the same filters as
a learnable mel-like filterbank (filters -> energy -> pooling -> log -> norm) for 2D
backbones, so the learnable filters can be compared with the fixed mel baseline under the
same backbone.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.frontends.compression import LogCompression
from waveform_mir.frontends.convolution import (
    analysis_size,
    band_envelopes,
    cut_bins,
    default_max_decimation,
    fft_conv1d,
)
from waveform_mir.frontends.filterbank import FilterbankFrontend
from waveform_mir.frontends.normalisation import FeatureNorm
from waveform_mir.frontends.pooling import FILTERBANK_POOLINGS
from waveform_mir.frontends.registry import register_frontend
from waveform_mir.frontends.sinc_filters import SincFilters


class SincConvFrontend(Frontend):
    """``(batch, samples) -> (batch, filters, samples // pool)``: SincNet's first block.

    ``envelope=False`` is SincNet verbatim: full-rate filtering, ``|y|``, max-pool. With
    ``envelope=True`` the magnitude of the analytic band signal is computed directly every
    ``pool`` samples (bands must then fit in ``sample_rate / pool``).
    """

    output_kind: OutputKind = "1d"

    def __init__(self, filters: SincFilters, num_filters: int, pool: int, envelope: bool) -> None:
        super().__init__()
        self.filters = filters
        self.pool = pool
        self.envelope = envelope
        self.norm = FeatureNorm(num_filters)

    def forward(self, waveform: Tensor) -> Tensor:
        samples = waveform.shape[-1]
        frames = samples // self.pool
        if self.envelope:
            size = analysis_size(samples, self.filters.taps.numel(), self.pool)
            bins = cut_bins(self.filters.center_bins(size), size, size // self.pool)
            everything = torch.arange(bins.shape[0], device=bins.device)
            (responses,) = self.filters.spectra_at([(everything, bins)], size)
            spectrum = torch.fft.fft(waveform, n=size)
            magnitude = band_envelopes(spectrum, responses, bins).abs()
        else:
            magnitude = F.max_pool1d(fft_conv1d(waveform, self.filters()).abs(), self.pool)
        return self.norm(magnitude[..., :frames])

    def learned_filters(self) -> dict[str, Tensor]:
        return self.filters.describe()


@register_frontend("sinc_conv", output_kind="1d")
def sinc_conv(
    *,
    sample_rate: int,
    num_filters: int = 80,
    kernel_size: int = 251,
    pool: int = 3,
    min_low_hz: float = 50.0,
    min_band_hz: float = 50.0,
    envelope: bool = True,
) -> SincConvFrontend:
    """SincNet layer for 1D backbones: ``-> (batch, num_filters, samples // pool)``.

    Defaults are SincNet's (80 filters, 251 taps at 16 kHz, pooling 3); a pool of 3 stands in
    for the strided stem of SampleCNN. ``envelope`` picks the fast analytic-envelope pooling
    (default) or SincNet's full-rate max-pool of ``|y|``.
    """
    max_band_hz = sample_rate / pool - 4 * sample_rate / kernel_size if envelope else None
    filters = SincFilters(
        num_filters, kernel_size, sample_rate, min_low_hz, min_band_hz, max_band_hz
    )
    return SincConvFrontend(filters, num_filters, pool, envelope)


@register_frontend("sinc_fbank", output_kind="2d")
def sinc_fbank(
    *,
    sample_rate: int,
    num_filters: int = 40,
    kernel_size: int = 401,
    hop_length: int = 256,
    pool_size: int = 512,
    pooling: str = "gaussian",
    min_low_hz: float = 50.0,
    min_band_hz: float = 50.0,
    decimation: int | None = None,
) -> FilterbankFrontend:
    """SincNet filters as a log spectrogram: ``-> (batch, 1, num_filters, frames)``.

    ``pooling`` is ``"gaussian"`` (learnable width per band) or ``"avg"`` over ``pool_size``
    samples; the hop defaults to the mel baseline's, so both give the same frame count. 40
    bands (as in LEAF) match the LEAF front-end. Each band's energy is computed on the
    coarsest grid its width allows, at most every ``decimation`` samples (default: the
    largest divisor of the hop up to 64); ``decimation=1`` filters every band at the full rate.
    """
    if pooling not in FILTERBANK_POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; choose from {sorted(FILTERBANK_POOLINGS)}")
    pool_size += 1 - pool_size % 2  # odd, so frames stay centred
    decimation = decimation or default_max_decimation(hop_length)
    return FilterbankFrontend(
        filters=SincFilters(num_filters, kernel_size, sample_rate, min_low_hz, min_band_hz),
        pooling=FILTERBANK_POOLINGS[pooling](num_filters, pool_size, hop_length,
                                             max_decimation=decimation),
        compression=LogCompression(),
        num_bands=num_filters,
        max_decimation=decimation,
    )
