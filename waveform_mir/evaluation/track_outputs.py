"""One model's per-track outputs on a split, kept so that its scores can be resampled later.

An interval or a paired test needs what the metric saw, track by track, not the metric's
summary. Every training run and every baseline classifier therefore leaves its test tracks
in a small ``.npz`` beside its metrics (:data:`TRACKS_FILE`): the track ids, the (calibrated)
track probabilities, the labels and, for a tagger, the per-tag thresholds its F1 was taken
at. One row is one *track* (chunk scores already averaged), which is what the bootstrap
resamples; a file with a repeated track id is refused, so chunk rows cannot pass for tracks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .metrics import classification_scores
from .tagging_metrics import tagging_scores


def tracks_file(split: str) -> str:
    """The file name of a split's per-track outputs."""
    return f"{split}_tracks.npz"


TRACKS_FILE = tracks_file("test")


@dataclass(frozen=True)
class TrackOutputs:
    """``track_ids`` (tracks,) str, ``probabilities`` (tracks, classes or tags),
    ``labels`` (tracks,) class ids or (tracks, tags) 0/1, ``thresholds`` (tags,) or
    ``None``."""

    track_ids: np.ndarray
    probabilities: np.ndarray
    labels: np.ndarray
    thresholds: np.ndarray | None = None

    def __post_init__(self) -> None:
        tracks = len(self.track_ids)
        if self.probabilities.ndim != 2 or len(self.probabilities) != tracks or len(
                self.labels) != tracks:
            raise ValueError(f"need one row per track: {tracks} ids, probabilities "
                             f"{self.probabilities.shape}, labels {self.labels.shape}")
        if len(np.unique(self.track_ids)) != tracks:
            raise ValueError("track ids repeat: rows must be tracks (chunk scores averaged), "
                             "each once")

    @property
    def is_tagging(self) -> bool:
        return self.labels.ndim == 2

    @property
    def correct(self) -> np.ndarray:
        """(tracks,) bool: the top class is the true one (single-label outputs only)."""
        return self.probabilities.argmax(axis=1) == self.labels

    def scores(self) -> dict:
        """The package's metric on these tracks (the full-sample point estimate)."""
        if self.is_tagging:
            return tagging_scores(self.probabilities, self.labels, thresholds=self.thresholds)
        return classification_scores(self.probabilities, self.labels)

    def aligned(self, track_ids: np.ndarray) -> TrackOutputs:
        """These outputs with rows in the order of ``track_ids``; refused unless both hold
        exactly the same tracks (a paired comparison needs every track on both sides)."""
        if set(self.track_ids.tolist()) != set(np.asarray(track_ids).tolist()):
            raise ValueError("the two sets of outputs are not on the same tracks")
        row = {track: i for i, track in enumerate(self.track_ids.tolist())}
        order = np.array([row[track] for track in np.asarray(track_ids).tolist()])
        return TrackOutputs(self.track_ids[order], self.probabilities[order], self.labels[order],
                            self.thresholds)

    def save(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        extra = {} if self.thresholds is None else {"thresholds": self.thresholds}
        np.savez_compressed(path, track_ids=self.track_ids.astype(str),
                            probabilities=self.probabilities, labels=self.labels, **extra)
        return path

    @classmethod
    def load(cls, path: Path) -> TrackOutputs:
        with np.load(path) as stored:
            return cls(stored["track_ids"], stored["probabilities"], stored["labels"],
                       stored.get("thresholds"))


def aligned_rows(seeds: list[TrackOutputs], track_ids: np.ndarray | None = None
                 ) -> list[TrackOutputs]:
    """Every seed's outputs in the order of ``track_ids`` (default: the first seed's), their
    labels checked equal: the seeds of one row, or two rows, scored on the same tracks."""
    order = seeds[0].track_ids if track_ids is None else track_ids
    aligned = [outputs.aligned(order) for outputs in seeds]
    if any(not np.array_equal(a.labels, aligned[0].labels) for a in aligned[1:]):
        raise ValueError("the same tracks carry different labels in two sets of outputs")
    return aligned
