"""Track-level evaluation of a model on a cached split, under one or many processes.

Every track is covered by fixed chunks; each process scores its shard of chunks, the
scores are gathered with ``gather_for_metrics`` (which drops the padding a distributed
sampler adds, so no chunk, and hence no track, is counted twice), and the chunk
probabilities of each track are averaged before
:class:`~waveform_mir.evaluation.metrics.GenreMetric` scores them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from accelerate import Accelerator
from datasets import Dataset
from torch.utils.data import DataLoader

from waveform_mir.data import ChunkDataset, collate
from waveform_mir.evaluation.metrics import GenreMetric, aggregate_by_track
from waveform_mir.evaluation.tagging_metrics import tagging_scores
from waveform_mir.heads import output_probabilities
from waveform_mir.progress import progress_bar


@dataclass
class TrackPredictions:
    """Per-track outputs of one split: (tracks, classes) probabilities and the labels,
    (tracks,) class ids or (tracks, tags) multi-hot."""

    probabilities: np.ndarray
    labels: np.ndarray
    num_chunks: int


def chunk_loader(split: Dataset, chunk_samples: int, hop_samples: int, batch_size: int
                 ) -> DataLoader:
    """Ordered, non-shuffled loader over every chunk of every track in ``split``."""
    return DataLoader(ChunkDataset(split, chunk_samples, hop_samples), batch_size=batch_size,
                      shuffle=False, collate_fn=collate)


@dataclass
class ChunkOutputs:
    """Every chunk of one split, gathered from all processes, in loader order: ``logits``
    (chunks, classes), ``labels`` (chunks,) class ids or (chunks, tags) multi-hot, and
    ``track_index`` (chunks,) into the split; ``task`` says how logits become probabilities."""

    logits: np.ndarray
    labels: np.ndarray
    track_index: np.ndarray
    task: str = "single_label"

    def track_predictions(self, temperature: float = 1.0) -> TrackPredictions:
        """Probabilities of ``logits / temperature`` per chunk (softmax, or a sigmoid per
        tag), averaged per track."""
        scaled = torch.from_numpy(self.logits).float() / temperature
        chunk_probs = output_probabilities(scaled, self.task).numpy()
        num_tracks = int(self.track_index.max()) + 1
        track_labels = np.zeros((num_tracks, *self.labels.shape[1:]), dtype=self.labels.dtype)
        track_labels[self.track_index] = self.labels
        return TrackPredictions(
            probabilities=aggregate_by_track(chunk_probs, self.track_index, num_tracks),
            labels=track_labels, num_chunks=len(self.track_index))


@torch.no_grad()
def chunk_outputs(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator,
                  description: str = "evaluating") -> ChunkOutputs:
    """Logits of every chunk of a prepared ``loader`` (the model's own temperature applied)."""
    was_training = model.training
    model.eval()
    logits, labels, tracks = [], [], []
    with progress_bar(description, total=len(loader),
                      enabled=accelerator.is_local_main_process) as advance:
        for batch in loader:
            gathered = accelerator.gather_for_metrics(
                (model(batch["waveform"]).float(), batch["label"], batch["track_index"]))
            for store, value in zip((logits, labels, tracks), gathered, strict=True):
                store.append(value.cpu())
            advance()
    model.train(was_training)
    return ChunkOutputs(logits=torch.cat(logits).numpy(), labels=torch.cat(labels).numpy(),
                        track_index=torch.cat(tracks).numpy(),
                        task=getattr(accelerator.unwrap_model(model), "task", "single_label"))


def predict_tracks(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator,
                   description: str = "evaluating") -> TrackPredictions:
    """Score every chunk of a prepared ``loader`` and average the chunk scores per track."""
    return chunk_outputs(model, loader, accelerator, description).track_predictions()


def score_tracks(predictions: TrackPredictions, label_names: list[str],
                 thresholds: np.ndarray | None = None) -> dict:
    """Metric dictionary of tracks: accuracy, macro-F1, log loss, per class and confusion
    for classes; ROC-AUC, PR-AUC, per tag and (given ``thresholds``, (tags,)) F1 for tags."""
    if predictions.labels.ndim == 2:
        scores = tagging_scores(predictions.probabilities, predictions.labels, label_names,
                                thresholds)
        scores["num_chunks"] = predictions.num_chunks
        return scores
    metric = GenreMetric()
    metric.add_batch(predictions=predictions.probabilities.astype(np.float32),
                     references=predictions.labels)
    scores = metric.compute(label_names=label_names)
    scores["num_chunks"] = predictions.num_chunks
    return scores
