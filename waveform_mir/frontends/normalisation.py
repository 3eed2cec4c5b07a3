"""Per-channel standardisation shared by every front-end.

Front-ends differ wildly in output scale (log-mel in nats, PCEN near unit range, filter
responses in raw amplitude). Standardising each frequency bin / channel with batch statistics
makes the backbone's job — and the learning rate — comparable across front-ends, which is what
an honest ablation needs.

The normalisation is deliberately *not* affine: a learnable scale and shift per bin would give
the "fixed" mel baseline trainable parameters, and the backbone's first BatchNorm already
provides them. Running statistics are buffers, so they are saved with the checkpoint.
"""

from __future__ import annotations

from torch import Tensor, nn


class FeatureNorm(nn.Module):
    """BatchNorm without affine parameters over axis 1 of ``(batch, channels, frames)``."""

    def __init__(self, num_channels: int, momentum: float = 0.1) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(num_channels, affine=False, momentum=momentum)

    def forward(self, features: Tensor) -> Tensor:
        """``(batch, channels, frames)`` -> same shape, each channel standardised."""
        return self.norm(features)
