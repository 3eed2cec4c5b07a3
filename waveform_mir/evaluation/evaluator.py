"""One track-level evaluator for every caller: train, evaluate, ablate (through train).

It owns what each caller used to rebuild in its own copy: the chunk loader of a split, built
and ``accelerator.prepare``-d once per run, the chunk scores averaged per track and scored by
the metric, and the temperature fit on a split.
"""

from __future__ import annotations

from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader

from waveform_mir.data import PreparedData

from .calibration import calibrate
from .tracks import chunk_loader, predict_tracks, score_tracks


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

    def scores(self, model: nn.Module, split: str) -> dict:
        """Track-level metric dict of ``model`` on ``split`` (every process gets it)."""
        predictions = predict_tracks(model, self.loader(split), self.accelerator,
                                     description=f"eval {split}")
        return score_tracks(predictions, self.prepared.label_names)

    def calibrate(self, model: nn.Module, split: str) -> tuple[float, float]:
        """Fit ``model``'s temperature on ``split``; track log loss before and after."""
        return calibrate(model, self.loader(split), self.accelerator)
