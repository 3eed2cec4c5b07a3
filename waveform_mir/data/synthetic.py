"""Deterministic synthetic "genres": the embedded dataset that needs no download.

A quick start, the test suite and CI need a genre task that is small, reproducible and still
learnable only by looking at music-like structure. Each genre below is a *style*: ranges for
tempo, a drum pattern on a 16-step bar (kick, snare and hi-hat as synthesised one-shots), chord
qualities, register, rhythm of the harmony (sustained pads, off-beat stabs, arpeggios), timbre
(harmonic roll-off, odd harmonics, envelopes, distortion, brightness) and a bass line. Every
clip draws its own tempo, key, progression, gains, noise level, detuning and bar phase from a
seed, and several ranges overlap (tempo of rock and metal, drum patterns of house and hip-hop,
drum-less classical and ambient), so a classifier has to combine rhythm, timbre and harmony.

Rendering is vectorised numpy: drum tracks are impulse trains convolved with one-shots, notes
are wavetable look-ups; a 4 s clip at 16 kHz takes about ten milliseconds.
"""

from __future__ import annotations

import csv
from collections.abc import Collection
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import soundfile as sf
from scipy.signal import fftconvolve, lfilter

from .manifest import SPLITS, Manifest, build_splits
from .registry import register_builder

_CHORDS = {
    "major": (0, 4, 7),
    "minor": (0, 3, 7),
    "power": (0, 7, 12),
    "dim": (0, 3, 6),
    "sus2": (0, 2, 7),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "dom9": (0, 4, 10, 14),
    "add9": (0, 4, 7, 14),
}
_PROGRESSIONS = ((0, 9, 5, 7), (0, 5, 7, 5), (0, 7, 9, 5), (0, 3, 5, 0), (0, 10, 8, 7))
_EIGHTHS = tuple(range(0, 16, 2))
_OFFBEATS = (2, 6, 10, 14)


@dataclass(frozen=True)
class Style:
    """Parameter ranges of one synthetic genre; a clip draws its values inside them."""

    name: str
    tempo: tuple[float, float]
    kick: tuple[int, ...] = ()
    snare: tuple[int, ...] = ()
    hat: tuple[int, ...] = ()
    swing: float = 0.0  # share of a 16th by which odd 16ths are delayed
    chords: tuple[str, ...] = ("major", "minor")
    register: tuple[int, int] = (52, 64)  # MIDI range of chord roots
    strikes: tuple[int, ...] = (0,)  # steps where the chord sounds; () = arpeggio on 8ths
    note_seconds: tuple[float, float] = (0.4, 0.8)
    attack: tuple[float, float] = (0.002, 0.01)
    rolloff: tuple[float, float] = (1.0, 1.5)  # harmonic k has amplitude k ** -rolloff
    odd_only: bool = False
    drive: float = 0.0  # tanh distortion of the harmony
    cutoff: tuple[float, float] = (6000.0, 8000.0)  # one-pole low-pass on the harmony
    bass: tuple[int, ...] = (0, 8)
    drums_db: tuple[float, float] = (-4.0, 0.0)


STYLES: tuple[Style, ...] = (
    Style("house", (116, 132), kick=(0, 4, 8, 12), snare=(4, 12), hat=_OFFBEATS,
          chords=("min7", "minor"), register=(57, 67), strikes=_OFFBEATS,
          note_seconds=(0.1, 0.2), rolloff=(0.9, 1.2), bass=_OFFBEATS),
    Style("rock", (100, 146), kick=(0, 8, 10), snare=(4, 12), hat=_EIGHTHS,
          chords=("power", "major"), register=(40, 52), strikes=(0, 8),
          note_seconds=(0.7, 1.2), rolloff=(1.0, 1.3), odd_only=True, drive=3.0,
          bass=_EIGHTHS),
    Style("metal", (140, 200), kick=tuple(range(16)), snare=(4, 12), hat=(0, 4, 8, 12),
          chords=("power",), register=(35, 45), strikes=_EIGHTHS, note_seconds=(0.08, 0.16),
          rolloff=(0.8, 1.0), odd_only=True, drive=8.0, bass=()),
    Style("jazz", (90, 160), kick=(0,), snare=(6, 14), hat=(0, 4, 6, 8, 12, 14), swing=0.33,
          chords=("maj7", "min7", "dom9"), register=(50, 62), strikes=(0, 6, 11),
          note_seconds=(0.3, 0.6), rolloff=(2.2, 3.0), cutoff=(2500, 4000),
          bass=(0, 4, 8, 12), drums_db=(-14.0, -8.0)),
    Style("hiphop", (78, 100), kick=(0, 3, 10), snare=(4, 12), hat=tuple(range(16)),
          swing=0.2, chords=("minor", "min7"), register=(48, 58), strikes=(0,),
          note_seconds=(1.5, 2.2), rolloff=(2.0, 2.8), cutoff=(1200, 2200), bass=(0, 3, 10)),
    Style("reggae", (66, 92), kick=(8,), snare=(8,), hat=_EIGHTHS, chords=("major", "minor"),
          register=(55, 65), strikes=_OFFBEATS, note_seconds=(0.06, 0.1),
          rolloff=(0.7, 1.0), bass=(0, 3, 6, 11)),
    Style("classical", (60, 112), chords=("major", "minor", "dim"), register=(48, 66),
          strikes=(), note_seconds=(0.5, 1.0), rolloff=(1.4, 2.0), cutoff=(3000, 5000),
          bass=(0,), drums_db=(-80.0, -80.0)),
    Style("ambient", (60, 90), chords=("sus2", "add9", "maj7"), register=(48, 64),
          strikes=(0,), note_seconds=(3.0, 4.5), attack=(0.6, 1.5), rolloff=(1.8, 2.6),
          cutoff=(900, 1800), bass=(), drums_db=(-80.0, -80.0)),
)
GENRES: tuple[str, ...] = tuple(style.name for style in STYLES)
PARTS: tuple[str, ...] = ("drums", "bass", "chords")  # the instruments of a clip's mix
DEFAULT_COUNTS = {"train": 50, "validation": 10, "test": 20}  # clips per genre and split
_BY_NAME = {style.name: style for style in STYLES}


def style_of(genre: str) -> Style:
    return _BY_NAME[genre]


def _draw_tempo(style: Style, rng: np.random.Generator) -> float:
    """A clip's tempo in BPM: the first draw of its generator."""
    return float(rng.uniform(*style.tempo))


def clip_tempo(genre: str, seed: int) -> float:
    """The tempo (BPM) :func:`render_clip` gives clip ``seed`` of ``genre``."""
    return _draw_tempo(_BY_NAME[genre], np.random.default_rng(seed))


def render_clip(genre: str, seed: int, seconds: float, sample_rate: int,
                parts: Collection[str] = PARTS) -> np.ndarray:
    """One clip of ``genre``: float32 mono, shape ``(round(seconds * sample_rate),)``.

    Instruments of :data:`PARTS` not in ``parts`` are muted; every random draw stays the
    same, so the other instruments play exactly as in the full clip.
    """
    style = _BY_NAME[genre]
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    tempo = _draw_tempo(style, rng)
    step = 60.0 / tempo / 4.0
    phase = rng.uniform(0, 16 * step)  # the clip starts anywhere in a bar
    grid = _step_times(n / sample_rate + 16 * step, step, style.swing) - phase
    key = int(rng.integers(*style.register))
    progression = _PROGRESSIONS[rng.integers(len(_PROGRESSIONS))]
    quality = style.chords[rng.integers(len(style.chords))]

    drums = _drums(style, grid, n, sample_rate, rng) * _db(rng.uniform(*style.drums_db))
    harmony = _harmony(style, grid, key, progression, quality, n, sample_rate, rng)
    bass = _bass(style, grid, key, progression, n, sample_rate, rng)
    levels = {"drums": 1.0, "chords": _db(rng.uniform(-3, 0)), "bass": _db(rng.uniform(-6, 0))}
    playing = {part: levels[part] * (part in parts) for part in PARTS}
    mix = drums * playing["drums"] + harmony * playing["chords"] + bass * playing["bass"]
    mix += rng.standard_normal(n) * _db(rng.uniform(-50, -30)) * np.abs(mix).max()
    peak = np.abs(mix).max() or 1.0
    return (mix / peak * _db(rng.uniform(-12, -1))).astype(np.float32)


def _db(value: float) -> float:
    return float(10 ** (value / 20))


def _step_times(seconds: float, step: float, swing: float) -> np.ndarray:
    """Onset times (s) of consecutive 16ths; odd 16ths are late by ``swing`` of a step."""
    index = np.arange(int(np.ceil(seconds / step)) + 16)
    return index * step + (index % 2) * swing * step


def _hits(pattern: tuple[int, ...], grid: np.ndarray, n: int, rate: int) -> np.ndarray:
    """Sample positions of a 16-step pattern repeated over the grid, inside the clip."""
    if not pattern:
        return np.zeros(0, dtype=np.int64)
    steps = np.arange(grid.shape[0])
    times = grid[np.isin(steps % 16, pattern)]
    samples = np.round(times * rate).astype(np.int64)
    return samples[(samples >= 0) & (samples < n)]


def _place(hits: np.ndarray, sound: np.ndarray, n: int, gains: np.ndarray) -> np.ndarray:
    """Sum copies of ``sound`` starting at ``hits`` via one convolution of an impulse train."""
    impulses = np.zeros(n)
    np.add.at(impulses, hits, gains)
    return fftconvolve(impulses, sound)[:n] if hits.size else impulses


def _drums(style: Style, grid: np.ndarray, n: int, rate: int, rng: np.random.Generator):
    t = np.arange(int(0.3 * rate)) / rate
    kick_pitch = 45 + 110 * np.exp(-t / rng.uniform(0.02, 0.04))
    kick = np.sin(2 * np.pi * np.cumsum(kick_pitch) / rate) * np.exp(-t / rng.uniform(0.1, 0.2))
    noise = rng.standard_normal(t.shape[0])
    snare = (np.diff(noise, prepend=0) * 0.5 + np.sin(2 * np.pi * rng.uniform(160, 220) * t))
    snare *= np.exp(-t / rng.uniform(0.05, 0.09))
    hat = np.diff(noise, n=2, prepend=[0, 0])[: int(0.05 * rate)] * 0.3
    hat *= np.exp(-t[: hat.shape[0]] / rng.uniform(0.01, 0.03))
    out = np.zeros(n)
    for pattern, sound, level in ((style.kick, kick, 1.0), (style.snare, snare, 0.6),
                                  (style.hat, hat, 0.4)):
        hits = _hits(pattern, grid, n, rate)
        out += _place(hits, sound * level, n, rng.uniform(0.7, 1.0, hits.shape[0]))
    return out


def _tone(
    midi: np.ndarray, seconds: float, rate: int, style: Style, rng: np.random.Generator
) -> np.ndarray:
    """Notes ``midi`` (several = a chord) as one wavetable look-up each, summed."""
    freqs = 440.0 * 2 ** ((midi - 69 + rng.normal(0, 0.08, midi.shape)) / 12)
    harmonics = np.arange(1, max(2, int(0.45 * rate / freqs.max())) + 1)[:12]
    amps = harmonics ** -rng.uniform(*style.rolloff)
    if style.odd_only:
        amps = amps * (harmonics % 2 == 1)
    table_phase = np.arange(2048) / 2048
    table = (amps[:, None] * np.sin(2 * np.pi * harmonics[:, None] * table_phase)).sum(0)
    t = np.arange(int(seconds * rate)) / rate
    index = ((freqs[:, None] * t + rng.uniform(0, 1, (freqs.shape[0], 1))) * 2048).astype(int)
    attack = rng.uniform(*style.attack)
    envelope = np.minimum(t / attack, 1.0) * np.exp(-t / (0.6 * seconds))
    return table[index % 2048].sum(0) * envelope / freqs.shape[0]


def _harmony(style, grid, key, progression, quality, n, rate, rng) -> np.ndarray:
    """Chords of the progression (one per bar) struck on the style's steps or arpeggiated."""
    out = np.zeros(n)
    intervals = np.array(_CHORDS[quality])
    strikes = style.strikes or _EIGHTHS
    for i in range(grid.shape[0]):
        if i % 16 not in strikes:
            continue
        start = int(round(grid[i] * rate))
        if start >= n or start + style.note_seconds[1] * rate <= 0:  # cannot reach the clip
            continue
        notes = key + progression[(i // 16) % 4] + intervals
        if not style.strikes:  # arpeggio: one chord tone per 8th, rising then falling
            position = (i // 2) % (2 * notes.shape[0] - 2 or 1)
            notes = notes[[min(position, 2 * notes.shape[0] - 2 - position)]]
        sound = _tone(notes.astype(float), rng.uniform(*style.note_seconds), rate, style, rng)
        lo, hi = max(start, 0), min(start + sound.shape[0], n)
        if hi > lo:
            out[lo:hi] += sound[lo - start : hi - start]
    if style.drive:
        out = np.tanh(style.drive * out) / np.tanh(style.drive)
    cutoff = rng.uniform(*style.cutoff)
    pole = np.exp(-2 * np.pi * min(cutoff, 0.45 * rate) / rate)
    return lfilter([1 - pole], [1, -pole], out)


def _bass(style, grid, key, progression, n, rate, rng) -> np.ndarray:
    """Root notes two octaves down on the style's bass steps, a sine with a little 2nd."""
    out = np.zeros(n)
    steps = np.arange(grid.shape[0])
    chosen = steps[np.isin(steps % 16, style.bass)]
    for i in chosen:
        start = int(round(grid[i] * rate))
        if not 0 <= start < n:
            continue
        freq = 440.0 * 2 ** ((key - 24 + progression[(i // 16) % 4] - 69) / 12)
        t = np.arange(min(int(0.25 * rate), n - start)) / rate
        wave = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
        out[start : start + t.shape[0]] += wave * np.exp(-t / 0.12) * rng.uniform(0.6, 0.9)
    return out


def clip_seed(seed: int, split: str, genre_index: int, index: int) -> int:
    """A per-clip seed that differs across splits, genres and indices (no shared clips)."""
    entropy = [seed, SPLITS.index(split), genre_index, index]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def _counts(num_per_class: int | dict[str, int]) -> dict[str, int]:
    if isinstance(num_per_class, int):
        return dict.fromkeys(SPLITS, num_per_class)
    unknown = set(num_per_class) - set(SPLITS)
    if unknown:
        raise ValueError(f"num_per_class has unknown split(s) {sorted(unknown)}; use {SPLITS}")
    return {split: int(num_per_class.get(split, 0)) for split in SPLITS}


def synthetic_rows(
    num_per_class: int | dict[str, int], seed: int, genres: list[str] | None = None
) -> dict[str, dict[str, list]]:
    """Manifest columns per split: ``track_id``, ``label`` (genre name), ``clip_seed``."""
    names = list(genres or GENRES)
    unknown = set(names) - set(GENRES)
    if unknown:
        raise ValueError(f"unknown synthetic genre(s) {sorted(unknown)}; choose from {GENRES}")
    rows = {}
    for split, count in _counts(num_per_class).items():
        columns: dict[str, list] = {"track_id": [], "label": [], "clip_seed": []}
        for genre in names:
            for i in range(count):
                columns["track_id"].append(f"synthetic-{split}-{genre}-{i:04d}")
                columns["label"].append(genre)
                columns["clip_seed"].append(clip_seed(seed, split, GENRES.index(genre), i))
        rows[split] = columns
    return rows


def _render_row(row: dict[str, Any], sample_rate: int, *, seconds: float, names: list[str]):
    return render_clip(names[row["label"]], row["clip_seed"], seconds, sample_rate)


@register_builder("synthetic")
def synthetic_manifest(
    num_per_class: int | dict[str, int] | None = None,
    seconds: float = 4.0,
    seed: int = 0,
    genres: list[str] | None = None,
) -> Manifest:
    """Builder ``synthetic``: clips rendered on the fly; default 50/10/20 clips per genre."""
    counts = num_per_class if num_per_class is not None else DEFAULT_COUNTS
    names = list(genres or GENRES)
    splits = build_splits(
        synthetic_rows(counts, seed, names), names, {"clip_seed": datasets.Value("int64")}
    )
    return Manifest(splits, partial(_render_row, seconds=seconds, names=names))


def write_synthetic_folder(
    root: str | Path,
    *,
    num_per_class: int | dict[str, int] = 10,
    seconds: float = 4.0,
    seed: int = 0,
    sample_rate: int = 22050,
    audio_format: str = "wav",
    genres: list[str] | None = None,
) -> Path:
    """Write clips as ``root/<genre>/<track_id>.<format>`` plus ``root/labels.csv``.

    The CSV has the folder builder's columns ``path,label,split,track_id``, so the same data
    can exercise file decoding and the folder builder. Returns the CSV path.
    """
    root = Path(root)
    rows = synthetic_rows(num_per_class, seed, genres)
    labels_path = root / "labels.csv"
    root.mkdir(parents=True, exist_ok=True)
    with labels_path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split", "track_id"])
        for split, columns in rows.items():
            for track_id, genre, seed_ in zip(*columns.values(), strict=True):
                relative = Path(genre) / f"{track_id}.{audio_format}"
                (root / genre).mkdir(exist_ok=True)
                audio = render_clip(genre, seed_, seconds, sample_rate)
                sf.write(root / relative, audio, sample_rate)
                writer.writerow([relative.as_posix(), genre, split, track_id])
    return labels_path
