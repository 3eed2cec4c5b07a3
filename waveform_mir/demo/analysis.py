"""What the page shows for one upload, computed without any web framework.

Everything a visitor can send — a song, a PDF renamed to .mp3, an empty or cut-off file, an
hour-long mix, a file over the size limit — ends here as a :class:`PageResult`: either the
scores or one plain sentence saying what is wrong. Nothing raises to the web layer, so a
visitor never sees a stack trace. The uploaded copy is deleted as soon as its bytes are read.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from waveform_mir.data import AudioDecodeError
from waveform_mir.demo.plots import timeline_figure
from waveform_mir.predict import Predictor, TrackScores

log = logging.getLogger(__name__)
_MAX_SEGMENTS_IN_WORDS = 4


@dataclass(frozen=True)
class Limits:
    """What the page accepts: upload size in MB and seconds analysed per file."""

    max_upload_mb: float = 50.0
    max_seconds: float = 600.0

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)


@dataclass
class PageResult:
    """The page's outputs: a verdict sentence (Markdown), and on success the scores, the
    timeline figure and the analysed audio ``(sample_rate, (samples,) int16)``."""

    verdict: str
    probabilities: dict[str, float] | None = None
    timeline: Figure | None = None
    audio: tuple[int, np.ndarray] | None = None

    @property
    def ok(self) -> bool:
        return self.probabilities is not None


def analyse_upload(predictor: Predictor, path: str | Path | None, limits: Limits,
                   delete: bool = True) -> PageResult:
    """Score an uploaded file; ``delete`` removes the upload once read (not for examples)."""
    if path is None:
        return PageResult("Upload an audio file (MP3, WAV, FLAC or OGG) to see its genres.")
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > limits.max_upload_bytes:
            return PageResult(f"⚠️ **{path.name}** is {size / 2**20:.1f} MB; the limit is "
                              f"{limits.max_upload_mb:g} MB. Please upload a smaller file.")
        data = path.read_bytes()
    except OSError:
        return PageResult("⚠️ The upload could not be read. Please try again.")
    finally:
        if delete:
            _discard(path)
    return analyse_bytes(predictor, data, path.name, limits.max_seconds)


def analyse_bytes(predictor: Predictor, data: bytes, name: str, max_seconds: float
                  ) -> PageResult:
    """Decode up to ``max_seconds`` of a file's bytes and score them; unreadable audio
    becomes a sentence, not an error."""
    try:
        audio, truncated = predictor.decode(data, name=name, max_seconds=max_seconds)
        scores = predictor.score_waveform(audio)
    except AudioDecodeError as error:
        return PageResult(f"⚠️ **{name}** could not be analysed: {error.reason}. "
                          "Please upload a music file (MP3, WAV, FLAC or OGG).")
    except Exception:  # a bug must not show a stack trace to visitors; it goes to the log
        log.exception("scoring %s failed", name)
        return PageResult(f"⚠️ Something went wrong while analysing **{name}**.")
    scores.truncated = truncated
    return PageResult(
        verdict=verdict(scores, name, max_seconds),
        probabilities=scores.probabilities,
        timeline=timeline_figure(scores),
        audio=(predictor.sample_rate, _int16(audio)),
    )


def _discard(path: Path) -> None:
    """Delete an upload and the per-upload folder Gradio made for it, once empty."""
    path.unlink(missing_ok=True)
    with contextlib.suppress(OSError):  # not empty or already gone: leave it to the sweep
        path.parent.rmdir()


def verdict(scores: TrackScores, name: str, max_seconds: float) -> str:
    """The top genre (or the tags present) in words, how sure the model is, and what part
    of the file was heard."""
    chunks = scores.timeline.shape[0]
    heard = f"Analysed {scores.duration_s:.1f} s in {chunks} chunk{'s' * (chunks != 1)}."
    if scores.thresholds is not None:
        lines = [*tag_lines(scores, name), heard]
        segments = []
    else:
        genre, probability = scores.top_k(1)[0]
        lines = [f"## {name} sounds like **{genre}** ({probability:.0%})", heard]
        segments = genre_segments(scores)
    if 1 < len(segments) <= _MAX_SEGMENTS_IN_WORDS:
        lines.append("Over time: " + " → ".join(
            f"{genre} {start:g}–{end:g} s" for genre, start, end in segments) + ".")
    elif len(segments) > _MAX_SEGMENTS_IN_WORDS:
        lines.append(f"The leading genre changes {len(segments) - 1} times; see the timeline.")
    if scores.truncated:
        lines.append(f"ℹ️ The file is longer than {max_seconds:g} s; only its first "
                     f"{max_seconds:g} s were analysed.")
    return "\n\n".join(lines)


def tag_lines(scores: TrackScores, name: str) -> list[str]:
    """A tagger's verdict: the tags present as chips (tag and probability), or the nearest
    miss when no tag reaches its threshold."""
    if not scores.tags:
        tag, probability = scores.top_k(1)[0]
        return [f"## {name}: no tag reaches its threshold",
                f"Closest: `{tag} {probability:.0%}`."]
    chips = " ".join(f"`{tag} {probability:.0%}`" for tag, probability in scores.tags)
    return [f"## {name}: {len(scores.tags)} tag{'s' * (len(scores.tags) != 1)}", chips]


def genre_segments(scores: TrackScores) -> list[tuple[str, float, float]]:
    """Runs of consecutive chunks with the same top genre as ``(genre, start_s, end_s)``.

    A run of one chunk is treated as noise (an unsure chunk, or one straddling a change) and
    joins the neighbouring run whose genre it scores higher, so sections read as sections.
    """
    top = scores.timeline.argmax(axis=1)
    runs = [[int(top[0]), 0, 1]]  # [class, first chunk, last chunk + 1]
    for i, label in enumerate(top[1:].tolist(), start=1):
        if label == runs[-1][0]:
            runs[-1][2] = i + 1
        else:
            runs.append([label, i, i + 1])
    while len(runs) > 1 and (short := next((r for r in runs if r[2] - r[1] == 1), None)):
        index = runs.index(short)
        neighbours = [runs[j] for j in (index - 1, index + 1) if 0 <= j < len(runs)]
        chunk = scores.timeline[short[1]]
        into = max(neighbours, key=lambda run: chunk[run[0]])
        into[1], into[2] = min(into[1], short[1]), max(into[2], short[2])
        runs.remove(short)
        runs = _merge_equal_neighbours(runs)
    starts = scores.chunk_starts_s
    ends = [*(starts[run[1]] for run in runs[1:]), scores.duration_s]
    return [(scores.labels[run[0]], round(float(starts[run[1]]), 1), round(float(end), 1))
            for run, end in zip(runs, ends, strict=True)]


def _merge_equal_neighbours(runs: list[list[int]]) -> list[list[int]]:
    merged = [runs[0]]
    for run in runs[1:]:
        if run[0] == merged[-1][0]:
            merged[-1][2] = run[2]
        else:
            merged.append(run)
    return merged


def _int16(audio: np.ndarray) -> np.ndarray:
    """float32 ``(samples,)`` in [-1, 1] -> int16 ``(samples,)``, what the player streams."""
    return (np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)
