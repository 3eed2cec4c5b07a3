"""nnAudio spectrograms with frozen or trainable kernels (Cheuk et al. 2020).

nnAudio computes STFT, mel and CQT as 1D convolutions; these builders wrap its layers and add
the shared log + per-bin norm tail. Frozen, each is a GPU-friendly fixed transform. Trainable,
each starts as the classic transform, and what learns is chosen so that it cannot collapse:

- ``nnaudio_stft``: the windowed sine/cosine kernels themselves. Their taps are of order 1,
  so an Adam step of ~1e-3 is a small relative change and the kernels stay band-limited.
- ``nnaudio_mel``: the mel matrix, as ``exp(θ)`` on each band's initial support
  (:mod:`.positive_kernels`): non-negative, relative steps, no band leaks or dies. nnAudio's
  raw matrix as a free parameter (weights ~3e-3 moved by ~lr per step) collapsed: 22 of 64
  bands dead after 600 steps, 0.34 test accuracy against 0.57 frozen.
- ``nnaudio_cqt``: each bin's centre frequency and Q, the kernels regenerated from them in
  nnAudio's shape (:mod:`.constant_q`), instead of 2.75 M free kernel taps, which lost their
  frequencies within the warm-up.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from waveform_mir.frontends.base import TimeFrequencyFrontend
from waveform_mir.frontends.constant_q import LearnableConstantQ
from waveform_mir.frontends.positive_kernels import make_positive_on_support
from waveform_mir.frontends.registry import register_frontend


@register_frontend("nnaudio_stft", output_kind="2d")
def nnaudio_stft(
    *,
    sample_rate: int,
    n_fft: int = 512,
    hop_length: int = 256,
    freq_bins: int | None = 128,
    freq_scale: str = "log",
    f_min: float = 50.0,
    f_max: float | None = None,
    trainable: bool = True,
) -> TimeFrequencyFrontend:
    """Log-magnitude STFT: ``(batch, samples) -> (batch, 1, bins, frames)``.

    ``bins = freq_bins or n_fft // 2 + 1``; ``freq_scale`` ("no", "linear", "log") lets nnAudio
    place the kernels' frequencies between ``f_min`` and ``f_max``. The default, 128
    log-spaced bins, gives the backbone a map the size of the mel baseline's; ``freq_bins=None,
    freq_scale="no"`` is the plain 257-bin STFT, which doubles the backbone's cost.
    ``trainable`` makes the windowed sine/cosine kernels parameters.
    """
    from nnAudio.features import STFT

    transform = STFT(
        n_fft=n_fft, hop_length=hop_length, freq_bins=freq_bins, freq_scale=freq_scale,
        fmin=f_min, fmax=f_max or sample_rate / 2, sr=sample_rate, trainable=trainable,
        output_format="Magnitude", verbose=False,
    )
    return TimeFrequencyFrontend(transform, num_bins=freq_bins or n_fft // 2 + 1)


@register_frontend("nnaudio_mel", output_kind="2d")
def nnaudio_mel(
    *,
    sample_rate: int,
    n_fft: int = 512,
    hop_length: int = 256,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    trainable_mel: bool = True,
    trainable_stft: bool = False,
) -> TimeFrequencyFrontend:
    """Log-mel with a learnable mel matrix and/or STFT kernels: ``-> (batch, 1, n_mels, frames)``.

    The defaults match the fixed ``mel`` baseline, so the two differ only in what is trainable.
    A trainable mel matrix is learned as ``exp(θ)`` on each band's support (see module).
    """
    transform = mel_transform(sample_rate, n_fft, hop_length, n_mels, f_min, f_max,
                              trainable_mel=trainable_mel, trainable_stft=trainable_stft)
    if trainable_mel:
        make_positive_on_support(transform, "mel_basis")
    return TimeFrequencyFrontend(transform, num_bins=n_mels)


def mel_transform(
    sample_rate: int, n_fft: int, hop_length: int, n_mels: int, f_min: float,
    f_max: float | None, trainable_mel: bool = False, trainable_stft: bool = False,
) -> nn.Module:
    """nnAudio's power mel spectrogram (Slaney filters, area-normalised); shared by the fixed
    ``mel`` baseline and ``nnaudio_mel``, so the two differ only in what is trainable."""
    from nnAudio.features import MelSpectrogram

    return MelSpectrogram(
        sr=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=f_min,
        fmax=f_max, power=2.0, htk=False, norm=1, trainable_mel=trainable_mel,
        trainable_STFT=trainable_stft, verbose=False,
    )


@register_frontend("nnaudio_cqt", output_kind="2d")
def nnaudio_cqt(
    *,
    sample_rate: int,
    hop_length: int = 256,
    f_min: float = 32.7,
    n_bins: int = 84,
    bins_per_octave: int = 12,
    trainable: bool = True,
    exact: bool = False,
) -> TimeFrequencyFrontend:
    """Log-magnitude constant-Q transform: ``-> (batch, 1, n_bins, frames)``.

    Frozen, nnAudio's ``CQT1992v2`` (one long complex kernel per bin); trainable, the same
    kernels regenerated from each bin's learnable centre frequency and Q
    (:class:`~waveform_mir.frontends.constant_q.LearnableConstantQ`). The lowest bin sets the
    kernel length, so the clip must be longer than half of it (about 0.3 s for 32.7 Hz).
    ``n_bins`` is reduced, if needed, to keep the top bin below Nyquist. The trainable
    transform is computed from its kernels' spectra; ``exact`` convolves every tap instead.
    """
    from nnAudio.features import CQT1992v2

    n_bins = min(n_bins, int(math.log2(sample_rate / 2 / f_min) * bins_per_octave))
    if trainable:
        frequencies = f_min * 2.0 ** (torch.arange(n_bins, dtype=torch.float64) / bins_per_octave)
        q = 1.0 / (2 ** (1 / bins_per_octave) - 1)
        transform = LearnableConstantQ(sample_rate, frequencies, q, hop_length)
        transform.exact = exact
        return TimeFrequencyFrontend(transform, num_bins=n_bins)
    transform = CQT1992v2(
        sr=sample_rate, hop_length=hop_length, fmin=f_min, n_bins=n_bins,
        bins_per_octave=bins_per_octave, output_format="Magnitude",
        verbose=False,
    )
    return TimeFrequencyFrontend(transform, num_bins=n_bins)

