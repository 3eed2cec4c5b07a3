"""One track-level evaluator for every caller: train, evaluate, ablate (through train).

It owns what each caller used to rebuild in its own copy: the chunk loader of a split, built
and ``accelerator.prepare``-d once per run, the chunk scores averaged per track and scored by
the metric, and what is fitted on validation after training: the temperature of a genre
classifier, the per-tag decision thresholds of a tagger. A final test (:meth:`TrackEvaluator.
tested`) also gives each headline score its 95 % interval over the split's tracks and the
per-track outputs it was drawn from, which a run keeps for later paired comparisons.
"""

from __future__ import annotations

import numpy as np
import torch
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader

from waveform_mir.data import PreparedData

from .calibration import calibrate
from .tagging_metrics import choose_thresholds
from .track_outputs import TrackOutputs
from .tracks import TrackPredictions, chunk_loader, predict_tracks, score_tracks
from .uncertainty import Bootstrap, with_intervals


class TrackEvaluator:
    """Scores models on the splits of ``prepared``, each track covered by chunks of
    ``chunk_samples`` every ``hop_samples``, ``batch_size`` chunks per forward pass."""

    def __init__(self, prepared: PreparedData, chunk_samples: int, hop_samples: int,
                 batch_size: int, accelerator: Accelerator) -> None:
        self.prepared = prepared
        self.chunk_samples = chunk_samples
        self.hop_samples = hop_samples
        self.batch_size = batch_size
        self.accelerator = accelerator
        self._loaders: dict[str, DataLoader] = {}

    def has(self, split: str) -> bool:
        """Whether ``split`` exists and holds at least one track."""
        return split in self.prepared.dataset and len(self.prepared.dataset[split]) > 0

    def loader(self, split: str) -> DataLoader:
        """The prepared chunk loader of ``split``, built on first use."""
        if split not in self._loaders:
            self._loaders[split] = self.accelerator.prepare(chunk_loader(
                self.prepared.dataset[split], self.chunk_samples, self.hop_samples,
                self.batch_size))
        return self._loaders[split]

    def predictions(self, model: nn.Module, split: str) -> TrackPredictions:
        """Track probabilities and labels of ``model`` on ``split``."""
        return predict_tracks(model, self.loader(split), self.accelerator,
                              description=f"eval {split}")

    def scores(self, model: nn.Module, split: str) -> dict:
        """Track-level metric dict of ``model`` on ``split`` (every process gets it); a
        tagging model's F1 is taken at its own per-tag thresholds."""
        return score_tracks(self.predictions(model, split), self.prepared.label_names,
                            self._thresholds(model))

    def tested(self, model: nn.Module, split: str, bootstrap: Bootstrap | None = None
               ) -> tuple[dict, TrackOutputs]:
        """:meth:`scores` with 95 % intervals over the tracks of ``split``
        (:func:`~.uncertainty.with_intervals`), and the per-track outputs they come from.

        The outputs hold the probabilities exactly as the metric scored them (single-label
        ones as float32, the precision :class:`~.metrics.GenreMetric` stores), so a score
        recomputed from a saved file equals the one reported."""
        predictions = self.predictions(model, split)
        thresholds = self._thresholds(model)
        scores = score_tracks(predictions, self.prepared.label_names, thresholds)
        outputs = self.track_outputs(predictions, split, thresholds)
        return with_intervals(scores, [outputs], bootstrap), outputs

    def track_outputs(self, predictions: TrackPredictions, split: str,
                      thresholds: np.ndarray | None = None) -> TrackOutputs:
        """``predictions`` of ``split`` with their track ids, as :meth:`tested` keeps them:
        row numbers where the data carry no ``track_id`` column, ``id#row`` where a labels
        file gives two rows one id (each row is scored as a track of its own)."""
        rows = self.prepared.dataset[split]
        ids = np.arange(len(rows)).astype(str)
        if "track_id" in rows.column_names:
            given = np.asarray(rows["track_id"]).astype(str)
            unique = len(np.unique(given)) == len(given)
            ids = given if unique else np.char.add(np.char.add(given, "#"), ids)
        probabilities = predictions.probabilities
        if predictions.labels.ndim == 1:
            probabilities = probabilities.astype(np.float32)
        return TrackOutputs(ids, probabilities, predictions.labels, thresholds)

    def _thresholds(self, model: nn.Module) -> np.ndarray | None:
        """(tags,) decision thresholds of a tagger, ``None`` for one label per track."""
        unwrapped = self.accelerator.unwrap_model(model)
        return unwrapped.thresholds.cpu().numpy() if _is_tagger(unwrapped) else None

    def fit_decision(self, model: nn.Module, split: str) -> str:
        """Fit on ``split`` what turns ``model``'s outputs into decisions, and say what
        changed: the temperature of a single-label model (track log loss), the per-tag
        thresholds of a multi-label one (F1 per tag)."""
        unwrapped = self.accelerator.unwrap_model(model)
        if not _is_tagger(unwrapped):
            before, after = calibrate(model, self.loader(split), self.accelerator)
            return (f"temperature {float(unwrapped.temperature):.2f} fitted on {split} "
                    f"(log loss {before:.3f} → {after:.3f})")
        predictions = self.predictions(model, split)
        chosen = choose_thresholds(predictions.probabilities, predictions.labels)
        unwrapped.thresholds.copy_(torch.as_tensor(chosen, dtype=torch.float32))
        return (f"per-tag thresholds chosen on {split}: {float(chosen.min()):.2f} – "
                f"{float(chosen.max()):.2f}")


def _is_tagger(model: nn.Module) -> bool:
    return getattr(model, "task", "single_label") == "multi_label"
