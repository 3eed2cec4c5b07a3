"""2D backbones for time-frequency maps ``(batch, 1, bins, frames)``.

Both follow Won et al. (2020), "Evaluation of CNN-based automatic music tagging models":

* ``short_chunk_cnn`` — 7 layers of conv 3x3 + BN + ReLU + max-pool 2x2 (a VGG-ish stack);
* ``short_chunk_resnet`` — 7 residual blocks whose first conv has stride 2.

After the stack the frequency axis is max-pooled away, leaving ``(batch, dim, steps)`` for the
head's temporal pooling. Pooling is guarded and strided convs pad, so inputs with few bins or
frames shrink to one, never to zero. ``width`` scales every layer (paper: 128).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import Tensor, nn

from waveform_mir.backbones.base import Backbone, InputKind, guarded_max_pool2d
from waveform_mir.backbones.input_conv import InputConv2d
from waveform_mir.backbones.registry import register_backbone

WIDTH_MULTIPLIERS = (1, 1, 2, 2, 2, 2, 4)  # 128,128,256,256,256,256,512 at width 128


def _conv_class(in_channels: int) -> type[nn.Conv2d]:
    """The first layer reads the one-channel map, whose gradient a learnable front-end needs:
    :class:`InputConv2d` computes it cheaply on CPU; the other layers are ``nn.Conv2d``."""
    return InputConv2d if in_channels == 1 else nn.Conv2d


class ConvBlock2d(nn.Module):
    """conv 3x3 + BN + ReLU + guarded max-pool 2x2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = _conv_class(in_channels)(in_channels, out_channels, 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return guarded_max_pool2d(self.bn(self.conv(x)).relu(), 2)


class ResBlock2d(nn.Module):
    """conv 3x3 stride 2 + BN + ReLU + conv 3x3 + BN, plus a strided shortcut; ReLU."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        conv = _conv_class(in_channels)
        self.body = nn.Sequential(
            conv(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )
        self.shortcut = nn.Sequential(
            conv(in_channels, out_channels, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return (self.body(x) + self.shortcut(x)).relu()


class ShortChunk2d(Backbone):
    """Block stack, then max over frequency: ``(B, 1, F, T) -> (B, channels[-1], T')``."""

    input_kind: InputKind = "2d"

    def __init__(self, block: type[nn.Module], channels: Sequence[int]) -> None:
        super().__init__()
        widths = [1, *channels]
        self.blocks = nn.Sequential(*(block(a, b) for a, b in itertools.pairwise(widths)))
        self.embedding_dim = widths[-1]

    def forward(self, features: Tensor) -> Tensor:
        return self.blocks(features).amax(dim=2)


def _widths(width: int, channels: Sequence[int] | None) -> list[int]:
    return list(channels) if channels else [width * m for m in WIDTH_MULTIPLIERS]


@register_backbone("short_chunk_cnn", input_kind="2d")
def short_chunk_cnn(
    *, input_shape: tuple[int, ...], width: int = 128, channels: Sequence[int] | None = None
) -> ShortChunk2d:
    """Short-chunk CNN; ``channels`` (one per layer) overrides the ``width`` pattern."""
    del input_shape  # fully convolutional: any (bins, frames) works
    return ShortChunk2d(ConvBlock2d, _widths(width, channels))


@register_backbone("short_chunk_resnet", input_kind="2d")
def short_chunk_resnet(
    *, input_shape: tuple[int, ...], width: int = 128, channels: Sequence[int] | None = None
) -> ShortChunk2d:
    """Short-chunk residual CNN; ``channels`` (one per block) overrides ``width``."""
    del input_shape
    return ShortChunk2d(ResBlock2d, _widths(width, channels))
