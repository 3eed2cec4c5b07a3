"""Decode any audio file or byte string to float32 mono at one sample rate.

Everything downstream (cache, loader, models) assumes the same representation: a 1-D float32
array in [-1, 1] at the recipe's sample rate. Real collections contain empty, truncated and
mislabelled files, so every failure surfaces as one exception type, :class:`AudioDecodeError`,
whose message names the file and the reason; preparation code catches it, skips the file and
reports it instead of dying halfway through a 100k-track dataset.

libsndfile (via soundfile) reads WAV, FLAC, OGG/Vorbis/Opus and MP3. Containers it cannot read
(AAC in M4A/MP4) fall back to PyAV when that optional package is installed.
"""

from __future__ import annotations

import importlib
import io
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# libsndfile reports a header it cannot parse as a missing file; say what it means instead.
# File suffixes taken for audio when a folder is scanned (training data, files to predict).
AUDIO_EXTENSIONS = frozenset({".mp3", ".wav", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aif",
                              ".aiff", ".au"})

_CLEARER_LIBSNDFILE = {
    "File does not exist or is not a regular file (possibly a pipe?).": "unrecognised or cut off",
}
# A file that decodes to less than this share of the length its header declares is truncated.
_TRUNCATION_TOLERANCE = 0.9


class AudioDecodeError(ValueError):
    """A file that cannot be turned into audio; the message names the file and the reason."""

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


def decode_audio(
    source: str | Path | bytes,
    sample_rate: int,
    *,
    name: str | None = None,
    max_seconds: float | None = None,
    min_seconds: float = 0.0,
) -> np.ndarray:
    """Decode ``source`` (a path or the file's bytes) to float32 mono at ``sample_rate``.

    Returns shape ``(samples,)``, values clipped to [-1, 1]. ``max_seconds`` decodes only the
    start of long files (full-length tracks), ``min_seconds`` rejects clips shorter than that
    (after decoding) as unusable. ``name`` labels the source in error messages; a path names
    itself, bytes default to ``<bytes>``.
    """
    label = name or (str(source) if isinstance(source, (str, Path)) else "<bytes>")
    data = _read_source(source, label)
    try:
        audio, native_rate = _decode_soundfile(data, label, max_seconds)
    except AudioDecodeError as sndfile_error:
        audio, native_rate = _decode_pyav_or_raise(data, label, max_seconds, sndfile_error)
    if audio.size == 0:
        raise AudioDecodeError(label, "no audio frames could be decoded (empty or truncated)")
    if not np.isfinite(audio).all():
        raise AudioDecodeError(label, "decoded samples contain NaN or infinity")
    if native_rate != sample_rate:
        audio = soxr.resample(audio, native_rate, sample_rate, quality="HQ")
    seconds = audio.shape[0] / sample_rate
    if seconds < min_seconds:
        raise AudioDecodeError(label, f"too short: {seconds:.2f} s < minimum {min_seconds:g} s")
    return np.clip(audio, -1.0, 1.0).astype(np.float32, copy=False)


def _read_source(source: str | Path | bytes, label: str) -> bytes | Path:
    """Validate the source cheaply before handing it to a decoder (missing and empty files)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise AudioDecodeError(label, "empty input (0 bytes)")
        return bytes(source)
    path = Path(source)
    if not path.is_file():
        raise AudioDecodeError(label, "file not found")
    if path.stat().st_size == 0:
        raise AudioDecodeError(label, "empty file (0 bytes)")
    return path


def _decode_soundfile(
    data: bytes | Path, label: str, max_seconds: float | None
) -> tuple[np.ndarray, int]:
    """Read with libsndfile; detect truncation by comparing decoded and declared length."""
    handle = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with sf.SoundFile(handle) as f:
            rate = f.samplerate
            limit = -1 if max_seconds is None else int(max_seconds * rate)
            # Declared lengths of MP3s are estimates, so read to the real end (or the limit).
            wanted = f.frames if limit < 0 else min(f.frames, limit)
            frames = f.read(limit, dtype="float32", always_2d=True)
    except sf.LibsndfileError as error:
        detail = _CLEARER_LIBSNDFILE.get(error.error_string, error.error_string)
        reason = f"not decodable audio (libsndfile: {detail})"
        raise AudioDecodeError(label, reason) from None
    except (sf.SoundFileError, RuntimeError, ValueError) as error:
        raise AudioDecodeError(label, f"not decodable audio ({error})") from None
    if 0 < frames.shape[0] < _TRUNCATION_TOLERANCE * wanted:
        raise AudioDecodeError(
            label,
            f"truncated: decoded {frames.shape[0] / rate:.2f} s of the {wanted / rate:.2f} s "
            "its header declares",
        )
    return frames.mean(axis=1, dtype=np.float32), rate


def _decode_pyav_or_raise(
    data: bytes | Path, label: str, max_seconds: float | None, cause: AudioDecodeError
) -> tuple[np.ndarray, int]:
    """Decode containers libsndfile lacks (AAC/M4A) with PyAV, if it is installed."""
    try:
        av = importlib.import_module("av")
    except ImportError:
        raise cause from None
    try:
        container = av.open(io.BytesIO(data) if isinstance(data, bytes) else str(data))
    except Exception as error:  # PyAV raises many unrelated types for unreadable input
        raise AudioDecodeError(label, f"{cause.reason}; PyAV: {error}") from None
    with container:
        if not container.streams.audio:
            raise AudioDecodeError(label, "container holds no audio stream")
        stream = container.streams.audio[0]
        rate = stream.rate
        # Resampling to packed float mono at the native rate normalises every sample format.
        to_mono = av.AudioResampler(format="flt", layout="mono", rate=rate)
        limit = None if max_seconds is None else int(max_seconds * rate)
        pieces: list[np.ndarray] = []
        decoded = 0
        try:
            for frame in container.decode(stream):
                for mono in to_mono.resample(frame):
                    pieces.append(mono.to_ndarray().reshape(-1))
                    decoded += pieces[-1].shape[0]
                if limit is not None and decoded >= limit:
                    break
        except Exception as error:  # corrupt packets surface as assorted PyAV errors
            raise AudioDecodeError(label, f"PyAV decoding failed: {error}") from None
    audio = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
    return (audio if limit is None else audio[:limit]), rate
