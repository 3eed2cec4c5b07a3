"""1D backbones for sample-level features ``(batch, channels, frames)``.

* ``samplecnn`` — Lee et al. (2017): blocks of conv(3) + BN + ReLU + max-pool(3). With the
  ``raw`` front-end as its strided stem this is the 3^n sample-level CNN; 9 blocks reduce
  a 3 s clip at 16 kHz from 16000 steps to 2.
* ``resnet1d`` — the same stages with residual blocks (two conv(3) + BN, identity or 1x1
  shortcut), which trains more stably at depth.

Widths are configurable (``channels``: one entry per block) so tiny CPU models are possible.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import Tensor, nn

from waveform_mir.backbones.base import Backbone, InputKind, guarded_max_pool1d
from waveform_mir.backbones.registry import register_backbone

SAMPLECNN_CHANNELS = (128, 128, 256, 256, 256, 256, 256, 256, 512)


class ConvBlock1d(nn.Module):
    """conv(3) + BN + ReLU + guarded max-pool: ``(B, in, T) -> (B, out, T // pool)``."""

    def __init__(self, in_channels: int, out_channels: int, pool: int = 3) -> None:
        super().__init__()
        self.conv = nn.Conv1d(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm1d(out_channels)
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        return guarded_max_pool1d(self.bn(self.conv(x)).relu(), self.pool)


class ResBlock1d(nn.Module):
    """Residual conv(3)-BN-ReLU-conv(3)-BN + shortcut, ReLU, guarded max-pool."""

    def __init__(self, in_channels: int, out_channels: int, pool: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(out_channels),
        )
        self.shortcut = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(
                nn.Conv1d(in_channels, out_channels, 1, bias=False), nn.BatchNorm1d(out_channels)
            )
        )
        self.pool = pool

    def forward(self, x: Tensor) -> Tensor:
        return guarded_max_pool1d((self.body(x) + self.shortcut(x)).relu(), self.pool)


class Stacked1d(Backbone):
    """A stack of 1D blocks: ``(B, in_channels, T) -> (B, channels[-1], T')``."""

    input_kind: InputKind = "1d"

    def __init__(self, block: type[nn.Module], in_channels: int, channels: Sequence[int]) -> None:
        super().__init__()
        widths = [in_channels, *channels]
        self.blocks = nn.Sequential(*(block(a, b) for a, b in itertools.pairwise(widths)))
        self.embedding_dim = widths[-1]

    def forward(self, features: Tensor) -> Tensor:
        return self.blocks(features)


@register_backbone("samplecnn", input_kind="1d")
def samplecnn(
    *, input_shape: tuple[int, ...], channels: Sequence[int] = SAMPLECNN_CHANNELS
) -> Stacked1d:
    """SampleCNN blocks over ``(channels, frames)`` front-end features."""
    return Stacked1d(ConvBlock1d, input_shape[0], channels)


@register_backbone("resnet1d", input_kind="1d")
def resnet1d(
    *, input_shape: tuple[int, ...], channels: Sequence[int] = SAMPLECNN_CHANNELS
) -> Stacked1d:
    """Residual SampleCNN over ``(channels, frames)`` front-end features."""
    return Stacked1d(ResBlock1d, input_shape[0], channels)
