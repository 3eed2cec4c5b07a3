"""A learnable filterbank turned into a time-frequency map.

The pipeline of LEAF, and of SincNet used as a spectrogram: filter the waveform with a bank of
band-pass kernels, take the energy of each band, low-pass pool it down to the frame rate, then
compress. Each step is a swappable module, so "LEAF" and "SincNet filterbank + log" are two
instantiations of one class rather than two copies of the same code.
"""

from __future__ import annotations

from torch import Tensor, nn

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.frontends.convolution import fft_conv1d
from waveform_mir.frontends.normalisation import FeatureNorm


class FilterbankFrontend(Frontend):
    """filters -> |.|^2 -> pooling -> compression -> per-band norm.

    Args:
        filters: module whose call returns kernels ``(bands, taps)`` (real or complex) and whose
            ``describe()`` returns at least ``center_hz`` and ``bandwidth_hz``.
        pooling: ``(batch, bands, samples) -> (batch, bands, frames)``.
        compression: shape-preserving, e.g. log or PCEN.
        num_bands: number of filters.

    Shapes: ``(batch, samples) -> (batch, 1, bands, (samples - 1) // stride + 1)`` for odd windows.
    """

    output_kind: OutputKind = "2d"

    def __init__(
        self, filters: nn.Module, pooling: nn.Module, compression: nn.Module, num_bands: int
    ) -> None:
        super().__init__()
        self.filters = filters
        self.pooling = pooling
        self.compression = compression
        self.norm = FeatureNorm(num_bands)

    def forward(self, waveform: Tensor) -> Tensor:
        response = fft_conv1d(waveform, self.filters())
        energy = response.abs().square() if response.is_complex() else response.square()
        return self.norm(self.compression(self.pooling(energy))).unsqueeze(1)

    def learned_filters(self) -> dict[str, Tensor]:
        return self.filters.describe()
