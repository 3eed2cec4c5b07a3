"""Example clips for the page, rendered by the synthetic-genre generator at start-up.

The page must work offline and ship no audio files, so its examples are generated: one clip
per genre and a medley whose second half is another genre, which shows off the timeline.
They are written as MP3, the format people upload most, into a folder the caller owns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from waveform_mir.data.synthetic import GENRES, render_clip

EXAMPLE_RATE = 22050  # an MP3 rate; decoding resamples to the model's rate
CLIP_SECONDS = 10.0
FALLBACK_GENRES = ("rock", "jazz", "classical", "house")
_SEED = 20240  # any fixed seed: the same clips on every start
_FADE_SECONDS = 0.5


@dataclass(frozen=True)
class ExampleClip:
    """A generated clip: a display title and the MP3 written for it."""

    title: str
    path: Path


def example_genres(model_labels: Sequence[str], count: int = 4) -> list[str]:
    """Synthetic genres to render: the model's own when it knows some, else a fixed mix."""
    known = [label for label in model_labels if label in GENRES]
    return known[:count] if known else list(FALLBACK_GENRES[:count])


def write_examples(folder: str | Path, genres: Sequence[str]) -> list[ExampleClip]:
    """One ``<genre>.mp3`` per genre plus ``<first>_to_<second>.mp3``; returns them in order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for index, genre in enumerate(genres):
        audio = render_clip(genre, _SEED + index, CLIP_SECONDS, EXAMPLE_RATE)
        clips.append(_write(folder / f"{genre}.mp3", genre, audio))
    if len(genres) >= 2:
        first, second = genres[0], genres[-1]
        medley = _crossfade(render_clip(first, _SEED - 1, CLIP_SECONDS, EXAMPLE_RATE),
                            render_clip(second, _SEED - 2, CLIP_SECONDS, EXAMPLE_RATE))
        clips.append(_write(folder / f"{first}_to_{second}.mp3", f"{first} → {second}", medley))
    return clips


def _write(path: Path, title: str, audio: np.ndarray) -> ExampleClip:
    sf.write(path, audio, EXAMPLE_RATE, format="MP3")
    return ExampleClip(title, path)


def _crossfade(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """``first`` then ``second``, overlapping by a short linear fade: ``(len1 + len2 - fade,)``."""
    fade = int(_FADE_SECONDS * EXAMPLE_RATE)
    ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
    overlap = first[-fade:] * (1 - ramp) + second[:fade] * ramp
    return np.concatenate([first[:-fade], overlap, second[fade:]]).astype(np.float32)
