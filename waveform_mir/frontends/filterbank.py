"""A learnable filterbank turned into a time-frequency map.

The pipeline of LEAF, and of SincNet used as a spectrogram: filter the waveform with a bank of
band-pass kernels, take the energy of each band, low-pass pool it down to the frame rate, then
compress. Each step is a swappable module, so "LEAF" and "SincNet filterbank + log" are two
instantiations of one class rather than two copies of the same code.

Band energies are computed with :func:`~waveform_mir.frontends.convolution.band_envelopes`
at ``1 / decimation`` of the sample rate: the pooling throws away everything faster than the
frame rate anyway, and filtering at full rate was the front-end's dominant cost.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.frontends.convolution import analysis_size, band_envelopes
from waveform_mir.frontends.normalisation import FeatureNorm


class FilterbankFrontend(Frontend):
    """filters -> |envelope|^2 -> pooling -> compression -> per-band norm.

    Args:
        filters: provides ``spectrum(n) -> (bands, n)``, ``center_bins(n) -> (bands,)``, a
            ``taps`` buffer (kernel support) and ``describe()`` with at least ``center_hz`` and
            ``bandwidth_hz``; its responses must fit in ``+- pi / decimation`` of the centre.
        pooling: ``(batch, bands, samples / decimation) -> (batch, bands, frames)``.
        compression: shape-preserving, e.g. log or PCEN.
        num_bands: number of filters.
        decimation: energy sample spacing; 1 filters at the full rate.

    Shapes: ``(batch, samples) -> (batch, 1, bands, (samples - 1) // stride + 1)`` for odd windows.
    """

    output_kind: OutputKind = "2d"

    def __init__(
        self,
        filters: nn.Module,
        pooling: nn.Module,
        compression: nn.Module,
        num_bands: int,
        decimation: int = 1,
    ) -> None:
        super().__init__()
        self.decimation = decimation
        self.filters = filters
        self.pooling = pooling
        self.compression = compression
        self.norm = FeatureNorm(num_bands)

    def forward(self, waveform: Tensor) -> Tensor:
        size = analysis_size(waveform.shape[-1], self.filters.taps.numel(), self.decimation)
        envelope = band_envelopes(
            waveform, self.filters.spectrum(size), self.filters.center_bins(size), self.decimation
        )
        energy = torch.view_as_real(envelope).square().sum(dim=-1)
        return self.norm(self.compression(self.pooling(energy))).unsqueeze(1)

    def learned_filters(self) -> dict[str, Tensor]:
        return self.filters.describe()
