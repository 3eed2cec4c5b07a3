"""Genre-classification metrics as an offline ``evaluate.Metric``, plus track aggregation.

``evaluate.load("accuracy")`` downloads a script from the Hub, which fails offline and on
clusters without internet. This module defines the metric in the package instead, so every
score in waveform-mir (training, ``evaluate``, ablations, the feature baseline) comes from the
same code: accuracy, top-k accuracy, macro and weighted F1, log loss, per-class precision /
recall / F1 and the confusion matrix, all from one confusion-matrix pass in numpy.

Evaluation is track-level: a track's chunk probabilities are averaged by
:func:`aggregate_by_track` before the metric sees them.
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import evaluate
import numpy as np

_EPS = 1e-15


def aggregate_by_track(
    chunk_probs: np.ndarray, track_index: np.ndarray, num_tracks: int | None = None
) -> np.ndarray:
    """Average chunk probabilities per track.

    Args:
        chunk_probs: (chunks, classes) probabilities of every chunk.
        track_index: (chunks,) integer track id of each chunk, 0 … num_tracks-1.
        num_tracks: number of tracks; inferred as ``max(track_index) + 1`` when omitted.

    Returns:
        (num_tracks, classes) mean probability of each track's chunks.
    """
    chunk_probs = np.asarray(chunk_probs, dtype=np.float64)
    track_index = np.asarray(track_index, dtype=np.int64)
    num_tracks = int(track_index.max()) + 1 if num_tracks is None else num_tracks
    sums = np.zeros((num_tracks, chunk_probs.shape[1]))
    np.add.at(sums, track_index, chunk_probs)
    counts = np.bincount(track_index, minlength=num_tracks)
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)[:5].tolist()
        raise ValueError(f"tracks without any chunk scores (first: {missing})")
    return sums / counts[:, None]


def _confusion(references: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """(classes, classes) counts; rows are true classes, columns predictions."""
    flat = references * num_classes + predicted
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.divide(numerator, denominator, out=np.zeros_like(numerator, dtype=np.float64),
                     where=denominator > 0)


def normalised(probabilities: np.ndarray) -> np.ndarray:
    """(N, classes) rows rescaled to sum to one: averaged softmaxes already do, a
    classifier's raw scores need not."""
    probs = np.asarray(probabilities, dtype=np.float64)
    return probs / probs.sum(axis=1, keepdims=True).clip(min=_EPS)


def track_log_losses(probabilities: np.ndarray, references: np.ndarray) -> np.ndarray:
    """(N,) negative log-probability of each example's true class (clipped at 1e-15, so a
    confident mistake costs about 34.5 rather than infinity): (N, classes) rows, (N,) ids."""
    true_class = probabilities[np.arange(len(references)), references]
    return -np.log(np.clip(true_class, _EPS, 1.0))


def log_loss(probabilities: np.ndarray, references: np.ndarray) -> float:
    """Mean negative log-probability of the true class: (N, classes) rows, (N,) class ids."""
    return float(np.mean(track_log_losses(probabilities, references)))


def classification_scores(
    probabilities: np.ndarray,
    references: Sequence[int],
    label_names: Sequence[str] | None = None,
    top_k: int = 3,
) -> dict:
    """All scores from class probabilities; the numeric core behind :class:`GenreMetric`.

    Args:
        probabilities: (examples, classes) rows summing to one (renormalised defensively).
        references: (examples,) true class ids.
        label_names: class names for the per-class report; defaults to the ids.
        top_k: k of the top-k accuracy.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    refs = np.asarray(references, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(refs) or len(refs) == 0:
        raise ValueError(f"need (N, classes) probabilities and N references, got "
                         f"{probs.shape} and {refs.shape}")
    num_classes = probs.shape[1]
    names = list(label_names) if label_names is not None else [str(i) for i in range(num_classes)]
    probs = normalised(probs)
    predicted = probs.argmax(axis=1)
    confusion = _confusion(refs, predicted, num_classes)

    true_positive = np.diag(confusion).astype(np.float64)
    support = confusion.sum(axis=1).astype(np.float64)
    precision = _safe_divide(true_positive, confusion.sum(axis=0).astype(np.float64))
    recall = _safe_divide(true_positive, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    present = support > 0  # classes absent from the references do not dilute the macro mean
    k = min(top_k, num_classes)
    top_k_hits = (np.argsort(-probs, axis=1)[:, :k] == refs[:, None]).any(axis=1)

    return {
        "accuracy": float((predicted == refs).mean()),
        f"top{k}_accuracy": float(top_k_hits.mean()),
        "macro_f1": float(f1[present].mean()),
        "weighted_f1": float((f1 * support).sum() / support.sum()),
        "log_loss": log_loss(probs, refs),
        "num_examples": int(len(refs)),
        "per_class": {
            name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
            for name, p, r, f, s in zip(names, precision, recall, f1, support, strict=True)
        },
        "confusion_matrix": confusion.tolist(),
        "label_names": names,
    }


class GenreMetric(evaluate.Metric):
    """Track-level genre scores as an ``evaluate`` metric that needs no download.

    Inputs: ``predictions`` are per-example class probabilities (a list of floats per
    example), ``references`` the true class ids. ``compute(label_names=…, top_k=…)`` returns the
    dictionary of :func:`classification_scores`.

    Example::

        metric = GenreMetric()
        metric.add_batch(predictions=probs, references=labels)
        scores = metric.compute(label_names=["blues", "rock"])
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Accuracy, top-k accuracy, macro/weighted F1, log loss, per-class scores "
            "and confusion matrix from class probabilities.",
            citation="",
            inputs_description="predictions: (N, C) probabilities; references: (N,) class ids",
            features=datasets.Features(
                {
                    "predictions": datasets.Sequence(datasets.Value("float32")),
                    "references": datasets.Value("int64"),
                }
            ),
        )

    def _compute(self, predictions, references, label_names=None, top_k: int = 3) -> dict:
        return classification_scores(np.asarray(predictions), references, label_names, top_k)


HEADLINE_METRICS = ("accuracy", "macro_f1", "log_loss")
