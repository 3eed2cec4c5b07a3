"""Per-track loudness normalisation: every waveform reaches a model at one loudness.

Collections are mastered at any level: GTZAN's training excerpts sit near -14.5 dBFS RMS while
its test tracks sit near -18 ± 5 dB (classical near -28), and a user's file may be anything.
A log-spectrogram turns a gain into a shift of every bin, which a batch norm frozen at
evaluation does not undo, so without normalisation the quiet tracks are misclassified for
being quiet. Each track is therefore scaled, as a whole, to a target loudness right after it
is decoded — in the cache, in evaluation, in ``predict``/``embed`` and on the web page alike —
and the checkpoint records the setting so a model is always fed as it was trained.

The gain is ``min(target gain, 1 / peak)``: a high-crest track (classical) is never pushed
into clipping. Both terms scale with the input's own level, so the output does not depend on
the level the file was stored at: a track and a copy 24 dB quieter normalise to the same
samples (up to the file's own quantisation).

Methods (``loudness: {method: ..., target_db: ...}`` in a recipe's ``data`` section):

- ``lufs``: ITU-R BS.1770 integrated loudness (K-weighting, 400 ms gated blocks) through
  ``pyloudnorm``; the broadcast standard, insensitive to silence and to bass-heavy spectra.
- ``rms``: root-mean-square level in dBFS; no filtering, no gating.
- ``none``: leave the decoded level as it is (checkpoints saved before this setting existed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..registry import Registry

# Below this level (dBFS / LUFS) a track is taken as silence and left alone: raising digital
# silence by 100 dB would only amplify dither.
SILENCE_DB = -70.0
LoudnessMeter = Callable[[np.ndarray, int], float]

LOUDNESS_METERS: Registry = Registry("loudness method")


@LOUDNESS_METERS.register("rms")
def rms_db(audio: np.ndarray, sample_rate: int) -> float:
    """Root-mean-square level of ``audio`` ``(samples,)`` in dBFS (−inf for silence)."""
    power = float(np.mean(np.square(audio, dtype=np.float64))) if audio.size else 0.0
    return 10 * np.log10(power) if power > 0 else -np.inf


@LOUDNESS_METERS.register("lufs")
def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """ITU-R BS.1770-4 integrated loudness of ``audio`` ``(samples,)`` in LUFS.

    Clips shorter than one 400 ms gating block fall back to the RMS level, which BS.1770
    reduces to for a single ungated block of unweighted audio.
    """
    import pyloudnorm

    if audio.shape[0] < int(0.4 * sample_rate) + 1:
        return rms_db(audio, sample_rate)
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(audio.astype(np.float64)))


@dataclass(frozen=True)
class Loudness:
    """How every track is levelled before a model sees it; recorded in each checkpoint."""

    method: str = "lufs"
    target_db: float = -23.0  # EBU R128's programme loudness

    def __post_init__(self) -> None:
        if self.method != "none":
            LOUDNESS_METERS.get(self.method)  # an unknown method lists the valid ones

    @classmethod
    def from_dict(cls, options: dict[str, Any] | None) -> Loudness:
        """``None`` (a checkpoint that predates the setting) means ``method: none``."""
        return cls(method="none") if options is None else cls(**options)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def gain(self, audio: np.ndarray, sample_rate: int) -> float:
        """Linear gain that brings ``audio`` ``(samples,)`` to the target without clipping."""
        if self.method == "none":
            return 1.0
        level = LOUDNESS_METERS.get(self.method)(audio, sample_rate)
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        if not np.isfinite(level) or level < SILENCE_DB or peak == 0.0:
            return 1.0
        return min(10 ** ((self.target_db - level) / 20), 1.0 / peak)

    def __call__(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """``audio`` ``(samples,)`` float32, scaled as a whole to the target loudness."""
        gain = self.gain(audio, sample_rate)
        return audio if gain == 1.0 else (audio * np.float32(gain)).astype(np.float32)
