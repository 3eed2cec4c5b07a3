"""LEAF (Zeghidour et al. 2021): Gabor filters, Gaussian pooling and sPCEN, all learnable.

The pieces live in their own modules (``gabor_filters``, ``pooling``, ``pcen``) and are joined by
:class:`~waveform_mir.frontends.filterbank.FilterbankFrontend`; this file only holds the
paper's defaults, expressed in milliseconds so they carry over to any sample rate.
"""

from __future__ import annotations

from waveform_mir.frontends.convolution import default_max_decimation
from waveform_mir.frontends.filterbank import FilterbankFrontend
from waveform_mir.frontends.gabor_filters import GaborFilters
from waveform_mir.frontends.pcen import PCEN
from waveform_mir.frontends.pooling import GaussianLowpass
from waveform_mir.frontends.registry import register_frontend


def _odd_samples(milliseconds: float, sample_rate: int) -> int:
    samples = int(round(milliseconds * sample_rate / 1000))
    return samples + 1 - samples % 2


@register_frontend("leaf", output_kind="2d")
def leaf(
    *,
    sample_rate: int,
    num_filters: int = 40,
    window_ms: float = 25.0,
    stride_ms: float = 10.0,
    min_hz: float = 60.0,
    max_hz: float | None = None,
    pool_init_width: float = 0.4,
    pcen_alpha: float = 0.96,
    pcen_delta: float = 2.0,
    pcen_root: float = 2.0,
    pcen_smooth_coef: float = 0.04,
    decimation: int | None = None,
) -> FilterbankFrontend:
    """LEAF front-end: ``-> (batch, 1, num_filters, (samples - 1) // stride + 1)``.

    ``stride = round(stride_ms * sample_rate / 1000)`` (160 samples, 100 frames/s at 16 kHz);
    filter and pooling windows span ``window_ms`` (401 taps at 16 kHz). Each band's energy is
    computed on the coarsest grid its width allows, at most every ``decimation`` samples
    (default: the largest divisor of the stride up to 64); the pooling window's support is
    rounded up to a multiple of it. ``decimation=1`` is LEAF exactly.
    """
    window = _odd_samples(window_ms, sample_rate)
    stride = int(round(stride_ms * sample_rate / 1000))
    decimation = decimation or default_max_decimation(stride)
    return FilterbankFrontend(
        filters=GaborFilters(num_filters, window, sample_rate, min_hz, max_hz),
        pooling=GaussianLowpass(num_filters, window, stride, pool_init_width, decimation),
        compression=PCEN(
            num_filters, alpha=pcen_alpha, delta=pcen_delta, root=pcen_root,
            smooth_coef=pcen_smooth_coef,
        ),
        num_bands=num_filters,
        max_decimation=decimation,
    )
