"""The interface every front-end implements, and the shared time-frequency wrapper.

A front-end turns a batch of waveforms ``(batch, samples)`` into features for a backbone.
Two kinds exist, and a backbone accepts exactly one of them:

* ``"2d"`` — a time-frequency map ``(batch, 1, bins, frames)``, ready for ``Conv2d``;
* ``"1d"`` — a multi-channel sequence ``(batch, channels, frames)``, ready for ``Conv1d``.

Every front-end ends with :class:`~waveform_mir.frontends.normalisation.FeatureNorm`, so that
backbones see comparable scales whichever front-end feeds them.
"""

from __future__ import annotations

from typing import Literal

import torch
from einops import rearrange
from torch import Tensor, nn

from waveform_mir.frontends.compression import LogCompression
from waveform_mir.frontends.normalisation import FeatureNorm
from waveform_mir.frontends.positive_kernels import effective_parameters

OutputKind = Literal["1d", "2d"]


class Frontend(nn.Module):
    """Base class: declares the output kind and infers output shapes with a dry run.

    Subclasses set ``output_kind`` and implement ``forward``. The dry run (zeros, eval mode,
    no autograd) keeps shape logic in one place instead of re-deriving padding and stride
    arithmetic for every transform, at the cost of one small forward pass.
    """

    output_kind: OutputKind

    def output_shape(self, num_samples: int) -> tuple[int, ...]:
        """Per-example output shape (without the batch axis) for clips of ``num_samples``."""
        was_training = self.training
        reference = next(iter(self.state_dict().values()), torch.empty(0))
        try:
            self.eval()
            with torch.no_grad():
                out = self(torch.zeros(1, num_samples, device=reference.device))
        finally:
            self.train(was_training)
        return tuple(out.shape[1:])

    def learned_filters(self) -> dict[str, Tensor] | None:
        """What the front-end has learned, for plots; ``None`` when nothing is learnable."""
        return None


class TimeFrequencyFrontend(Frontend):
    """Any ``(batch, samples) -> (batch, bins, frames)`` transform + log + per-bin norm.

    This is the shared tail of the spectrogram front-ends (fixed mel, nnAudio STFT / mel /
    CQT): magnitudes span several orders of magnitude, so they are log-compressed, then
    standardised per frequency bin. Output: ``(batch, 1, bins, frames)``.
    """

    output_kind: OutputKind = "2d"

    def __init__(self, transform: nn.Module, num_bins: int, log_eps: float = 1e-6) -> None:
        super().__init__()
        self.transform = transform
        self.compress = LogCompression(eps=log_eps)
        self.norm = FeatureNorm(num_bins)

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples)`` -> ``(batch, 1, bins, frames)``."""
        spec = self.transform(waveform)
        return rearrange(self.norm(self.compress(spec)), "batch bins frames -> batch 1 bins frames")

    def learned_filters(self) -> dict[str, Tensor] | None:
        """What the transform learns: its own summary where it has one (centre frequencies
        and bandwidths), else its trainable kernels by name as the computation uses them
        (e.g. ``mel_basis``, not its log-parametrised original); ``None`` when frozen."""
        own = getattr(self.transform, "learned_filters", None)
        if callable(own):
            return own()
        return effective_parameters(self.transform) or None
