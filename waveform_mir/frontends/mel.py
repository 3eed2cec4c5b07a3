"""The fixed baseline: a log-mel spectrogram with no trainable parameters.

Everything learnable is measured against this. Two interchangeable back-ends compute the
power mel spectrogram: nnAudio (a frozen ``MelSpectrogram``, always available) and torchaudio
(imported only when asked for, since it is an optional extra). Both use Slaney-style mel
filters with area normalisation, a periodic Hann window and centred reflect padding, so the
two agree up to floating-point error.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from waveform_mir.frontends.base import TimeFrequencyFrontend
from waveform_mir.frontends.nnaudio import mel_transform
from waveform_mir.frontends.registry import register_frontend


def _torchaudio_mel(
    sample_rate: int, n_fft: int, hop_length: int, n_mels: int, f_min: float, f_max: float | None
) -> nn.Module:
    try:
        import torchaudio
    except ImportError as exc:  # optional extra
        raise ImportError(
            "the 'torchaudio' mel backend needs torchaudio: pip install 'waveform-mir[torchaudio]'"
        ) from exc
    return torchaudio.transforms.MelSpectrogram(
        sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, f_min=f_min,
        f_max=f_max, power=2.0, norm="slaney", mel_scale="slaney", center=True,
        pad_mode="reflect",
    )


MEL_BACKENDS: dict[str, Callable[..., nn.Module]] = {
    "nnaudio": mel_transform,
    "torchaudio": _torchaudio_mel,
}


@register_frontend("mel", output_kind="2d")
def mel(
    *,
    sample_rate: int,
    n_fft: int = 512,
    hop_length: int = 256,
    n_mels: int = 128,
    f_min: float = 0.0,
    f_max: float | None = None,
    backend: str = "nnaudio",
) -> TimeFrequencyFrontend:
    """Fixed log-mel front-end: ``(batch, samples) -> (batch, 1, n_mels, frames)``.

    ``frames = samples // hop_length + 1`` (centred frames). The defaults (512-point FFT, hop
    256, 128 bands at 16 kHz) follow the short-chunk CNN setting of Won et al. (2020).
    """
    if backend not in MEL_BACKENDS:
        raise ValueError(f"unknown mel backend {backend!r}; choose from {sorted(MEL_BACKENDS)}")
    transform = MEL_BACKENDS[backend](sample_rate, n_fft, hop_length, n_mels, f_min, f_max)
    for param in transform.parameters():
        param.requires_grad_(False)
    return TimeFrequencyFrontend(transform, num_bins=n_mels)
