"""How an audio file becomes a model's input: decode, level, cut into chunks.

Kept apart from the model so that it can run in decoder processes: a :class:`TrackReader`
holds only numbers and the loudness setting, pickles in a few bytes, and gives every caller
(one file in :class:`~waveform_mir.predict.Predictor`, thousands in
:mod:`waveform_mir.inference.library`) the same chunks, so a track scores the same either way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from waveform_mir.data import AudioDecodeError, decode_audio
from waveform_mir.data.loader import chunk_starts
from waveform_mir.data.loudness import Loudness

MIN_SECONDS = 0.5  # below this a clip carries too little music to say anything about
# Decoding this much past ``max_seconds`` tells a long file from one exactly that long.
_OVERREAD_SECONDS = 0.05


@dataclass
class CutTrack:
    """One track ready for the model.

    Attributes:
        chunks: ``(chunks, chunk_samples)`` float32 windows of the levelled waveform.
        starts: ``(chunks,)`` start sample of each chunk.
        duration_s: seconds of audio analysed.
        truncated: the file is longer than the analysis limit and only its start was cut.
    """

    chunks: Tensor
    starts: np.ndarray
    duration_s: float
    truncated: bool = False


@dataclass(frozen=True)
class TrackReader:
    """Decodes at ``sample_rate`` (at most ``max_seconds``, ``None``: whole files), levels by
    ``loudness`` as the model's training tracks were, and cuts chunks of ``chunk_samples``
    every ``hop_samples``."""

    sample_rate: int
    chunk_samples: int
    hop_samples: int
    loudness: Loudness
    max_seconds: float | None = None

    def decode(self, source: str | Path | bytes, name: str | None = None,
               max_seconds: float | None = None) -> tuple[np.ndarray, bool]:
        """``(samples,)`` float32 at the model's rate and whether it was cut short.

        ``max_seconds`` overrides the reader's limit for this call. Raises
        :class:`AudioDecodeError` for unreadable input and clips under :data:`MIN_SECONDS`.
        """
        max_seconds = self.max_seconds if max_seconds is None else max_seconds
        limit = None if max_seconds is None else max_seconds + _OVERREAD_SECONDS
        audio = decode_audio(source, self.sample_rate, name=name, max_seconds=limit,
                             min_seconds=MIN_SECONDS)
        if max_seconds is None:
            return audio, False
        keep = int(round(max_seconds * self.sample_rate))
        return audio[:keep], audio.shape[0] > keep

    def read(self, source: str | Path | bytes, name: str | None = None) -> CutTrack:
        """Decode ``source`` (path or file bytes), level it and cut it."""
        audio, truncated = self.decode(source, name)
        track = self.cut(audio)
        track.truncated = truncated
        return track

    def cut(self, waveform: np.ndarray) -> CutTrack:
        """Level a float32 mono waveform ``(samples,)`` at the model's rate, at any level,
        and cut it into chunks."""
        if waveform.ndim != 1:
            raise ValueError(f"expected a mono waveform (samples,), got shape {waveform.shape}")
        if waveform.shape[0] < MIN_SECONDS * self.sample_rate:
            seconds = waveform.shape[0] / self.sample_rate
            raise AudioDecodeError("<waveform>",
                                   f"too short: {seconds:.2f} s < minimum {MIN_SECONDS:g} s")
        waveform = self.loudness(waveform.astype(np.float32, copy=False), self.sample_rate)
        chunks, starts = self.chunks(waveform)
        return CutTrack(chunks, starts, waveform.shape[0] / self.sample_rate)

    def chunks(self, waveform: np.ndarray) -> tuple[Tensor, np.ndarray]:
        """Chunks ``(chunks, chunk_samples)`` covering the waveform and their start samples
        ``(chunks,)``; a waveform shorter than one chunk is zero-padded at the end."""
        starts = chunk_starts(waveform.shape[0], self.chunk_samples, self.hop_samples)
        padded = np.zeros(max(waveform.shape[0], self.chunk_samples), dtype=np.float32)
        padded[: waveform.shape[0]] = waveform
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.chunk_samples)
        return torch.from_numpy(np.ascontiguousarray(windows[starts])), starts
