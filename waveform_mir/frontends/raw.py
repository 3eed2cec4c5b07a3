"""A learned strided-convolution stem over raw samples, for sample-level 1D models.

SampleCNN (Lee et al. 2017) starts with a convolution whose kernel equals its stride (3),
turning samples into a sequence of learned "sample-level" features at a third of the rate.
Here that stem is the front-end, so a sample-level backbone can be fed either by it or by the
SincNet layer and the two compared.
"""

from __future__ import annotations

from torch import Tensor, nn

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.frontends.normalisation import FeatureNorm
from waveform_mir.frontends.registry import register_frontend


class RawConvFrontend(Frontend):
    """Conv1d (kernel = stride) -> per-channel norm: SampleCNN's first layer.

    The stem's ReLU is left to the backbone's first block, so the output is zero-mean like
    every other front-end's.
    """

    output_kind: OutputKind = "1d"

    def __init__(self, channels: int, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(1, channels, kernel_size=stride, stride=stride, bias=False)
        self.norm = FeatureNorm(channels)

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples) -> (batch, channels, samples // stride)``."""
        return self.norm(self.conv(waveform.unsqueeze(1)))

    def learned_filters(self) -> dict[str, Tensor]:
        """The learned kernels, ``(channels, stride)``."""
        return {"kernels": self.conv.weight.detach().squeeze(1).clone()}


@register_frontend("raw", output_kind="1d")
def raw(*, sample_rate: int, channels: int = 128, stride: int = 3) -> RawConvFrontend:
    """Strided raw-waveform stem: ``-> (batch, channels, samples // stride)``.

    ``sample_rate`` is accepted for a uniform builder signature; the stem is rate-agnostic.
    """
    del sample_rate
    return RawConvFrontend(channels, stride)
