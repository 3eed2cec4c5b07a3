"""Builder ``synthetic_tags``: deterministic multi-label clips, the embedded tagging dataset.

A tagging quick start, its tests and CI need a multi-label task that is small, reproducible
and needs no download. Each clip is a synthetic genre (:mod:`.synthetic`) with some of its
instruments muted, and its tags say what can be heard:

* its genre (``house``, ``jazz``, …);
* the instruments that play, among ``drums``, ``bass`` and ``chords``; each plays with
  probability :data:`KEEP_PART`, at least the chords play, and an instrument the genre lacks
  (the drums of classical, the bass of metal) is never tagged;
* a tempo class from the clip's tempo: ``slow`` (< 95 BPM), ``medium`` (< 130), ``fast``.

So a clip carries three to five tags that co-occur as real tags do (metal is fast, ambient
slow and drum-less) yet vary within a genre (jazz at any tempo, rock without bass). Tags and
audio both derive from the clip's seed, so the same options always give the same data.
Columns: ``label`` (the genre, for single-label use of the same clips), ``tags`` (the tag
column, :mod:`.labels`) and ``clip_seed``.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import datasets
import numpy as np

from .labels import tag_feature
from .manifest import Manifest, build_splits
from .registry import register_builder
from .synthetic import (
    DEFAULT_COUNTS,
    GENRES,
    PARTS,
    clip_tempo,
    render_clip,
    style_of,
    synthetic_rows,
)

KEEP_PART = 0.6  # chance that each instrument a genre has plays in a clip
TEMPO_CLASSES: tuple[tuple[str, float], ...] = (
    ("slow", 95.0), ("medium", 130.0), ("fast", float("inf")))  # (name, upper bound in BPM)
_SILENT_DB = -60.0  # drums at or below this level (classical, ambient) cannot be heard


def tempo_class(bpm: float) -> str:
    """``slow`` / ``medium`` / ``fast`` for a tempo in BPM (see :data:`TEMPO_CLASSES`)."""
    return next(name for name, upper in TEMPO_CLASSES if bpm < upper)


def available_parts(genre: str) -> tuple[str, ...]:
    """The instruments of :data:`~.synthetic.PARTS` that ``genre``'s style can sound."""
    style = style_of(genre)
    has = {"drums": bool(style.kick or style.snare or style.hat) and
           style.drums_db[1] > _SILENT_DB,
           "bass": bool(style.bass), "chords": True}
    return tuple(part for part in PARTS if has[part])


def clip_tags(genre: str, seed: int) -> list[str]:
    """The tags of clip ``seed`` of ``genre``: genre, instruments playing, tempo class.

    The instrument draws use their own generator, so they never change the clip's audio
    draws (:func:`~.synthetic.render_clip` sees only which parts to mute).
    """
    rng = np.random.default_rng([seed, 1])
    playing = [part for part in available_parts(genre) if rng.random() < KEEP_PART]
    if not playing:
        playing = ["chords"]
    return [genre, *playing, tempo_class(clip_tempo(genre, seed))]


def tag_names(genres: list[str]) -> list[str]:
    """Every tag a clip of ``genres`` may carry, in a fixed reading order."""
    return [*genres, *PARTS, *(name for name, _ in TEMPO_CLASSES)]


def tagged_rows(counts: int | dict[str, int], seed: int, genres: list[str]
                ) -> dict[str, dict[str, list]]:
    """:func:`~.synthetic.synthetic_rows` plus each clip's ``tags`` (names)."""
    rows = synthetic_rows(counts, seed, genres)
    for columns in rows.values():
        columns["tags"] = [clip_tags(genre, s)
                           for genre, s in zip(columns["label"], columns["clip_seed"],
                                               strict=True)]
    return rows


def _render_tagged(row: dict[str, Any], sample_rate: int, *, seconds: float,
                   genres: list[str], tags: list[str]) -> np.ndarray:
    """The clip with the instruments its tags name (tags are ids into ``tags``)."""
    parts = {tags[t] for t in row["tags"]} & set(PARTS)
    return render_clip(genres[row["label"]], row["clip_seed"], seconds, sample_rate, parts)


@register_builder("synthetic_tags")
def synthetic_tags_manifest(
    num_per_class: int | dict[str, int] | None = None,
    seconds: float = 4.0,
    seed: int = 0,
    genres: list[str] | None = None,
) -> Manifest:
    """Builder ``synthetic_tags``: default 50/10/20 clips per genre and split, rendered on
    the fly; the vocabulary is :func:`tag_names` less tags no training clip carries."""
    counts = num_per_class if num_per_class is not None else DEFAULT_COUNTS
    names = list(genres or GENRES)
    rows = tagged_rows(counts, seed, names)
    seen = {tag for tags in rows["train"]["tags"] for tag in tags}
    vocabulary = [tag for tag in tag_names(names) if tag in seen]
    for columns in rows.values():
        columns["tags"] = [[tag for tag in tags if tag in seen] for tags in columns["tags"]]
    splits = build_splits(rows, names, {"tags": tag_feature(vocabulary),
                                        "clip_seed": datasets.Value("int64")})
    render = partial(_render_tagged, seconds=seconds, genres=names, tags=vocabulary)
    return Manifest(splits, render)
