"""Scores of one binary tag from ranked probabilities: ROC-AUC, average precision, and the
F1-optimal threshold.

The numeric core of :mod:`.tagging_metrics`, in numpy so that the package's scores do not
depend on a scikit-learn version (the tests hold them equal to ``roc_auc_score``,
``average_precision_score`` and ``f1_score``). Tied scores are one threshold, as in
scikit-learn: a tie between a positive and a negative counts half in ROC-AUC and is never
split in average precision.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _binary(targets: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    truth = np.asarray(targets).reshape(-1) > 0.5
    values = np.asarray(scores, dtype=np.float64).reshape(-1)
    if truth.shape != values.shape:
        raise ValueError(f"need as many targets as scores, got {truth.shape} and {values.shape}")
    return truth, values


def is_scorable(targets: np.ndarray) -> bool:
    """Whether a tag has a positive and a negative example: without both, ROC-AUC and
    average precision say nothing about the ranking."""
    truth = np.asarray(targets).reshape(-1) > 0.5
    return bool(truth.any() and not truth.all())


def roc_auc(targets: np.ndarray, scores: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half).

    Args:
        targets: (examples,) 0/1 truth of one tag.
        scores: (examples,) its predicted probabilities.

    Returns:
        ROC-AUC in [0, 1]; NaN when the tag has no positive or no negative example.
    """
    truth, values = _binary(targets, scores)
    positives = int(truth.sum())
    negatives = truth.size - positives
    if not positives or not negatives:
        return float("nan")
    ranks = rankdata(values)  # ties get their average rank: the Mann-Whitney U statistic
    u = ranks[truth].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def _cumulative_counts(truth: np.ndarray, values: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At each distinct score, from the highest: (thresholds, true positives, false
    positives) counted over the examples scoring at least that threshold. Shapes
    ``(distinct,)``."""
    order = np.argsort(-values, kind="mergesort")
    ordered, hits = values[order], truth[order]
    last_of_tie = np.flatnonzero(np.r_[ordered[1:] != ordered[:-1], True])
    true_positives = np.cumsum(hits)[last_of_tie]
    return ordered[last_of_tie], true_positives, last_of_tie + 1 - true_positives


def average_precision(targets: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall step curve: sum over thresholds of the recall gained
    times the precision there (scikit-learn's definition, no interpolation).

    Args:
        targets: (examples,) 0/1 truth of one tag.
        scores: (examples,) its predicted probabilities.

    Returns:
        Average precision in [0, 1]; NaN when the tag has no positive example.
    """
    truth, values = _binary(targets, scores)
    positives = int(truth.sum())
    if not positives:
        return float("nan")
    _, true_positives, false_positives = _cumulative_counts(truth, values)
    precision = true_positives / (true_positives + false_positives)
    recall_gained = np.diff(true_positives, prepend=0) / positives
    return float((recall_gained * precision).sum())


def f1_at(targets: np.ndarray, scores: np.ndarray, threshold: float) -> dict[str, float]:
    """Precision, recall and F1 of predicting the tag where ``score >= threshold``.

    A tag neither predicted nor present scores 0 (scikit-learn's ``zero_division=0``).
    """
    truth, values = _binary(targets, scores)
    predicted = values >= threshold
    hits = int((predicted & truth).sum())
    precision = hits / predicted.sum() if predicted.any() else 0.0
    recall = hits / truth.sum() if truth.any() else 0.0
    denominator = int(predicted.sum()) + int(truth.sum())
    return {"precision": float(precision), "recall": float(recall),
            "f1": 2 * hits / denominator if denominator else 0.0}


def best_f1_threshold(targets: np.ndarray, scores: np.ndarray) -> float | None:
    """The threshold with the highest F1 on these examples (validation), or ``None`` for a
    tag with no positive example (no threshold is better than another).

    Candidates are the distinct scores (predict ``score >= threshold``); the one returned is
    half-way down to the next lower score (0 below the lowest), which classifies these
    examples identically and leaves a margin for unseen ones. Among equal F1s the highest
    threshold wins: fewer false alarms for the same F1.
    """
    truth, values = _binary(targets, scores)
    positives = int(truth.sum())
    if not positives:
        return None
    thresholds, true_positives, false_positives = _cumulative_counts(truth, values)
    f1 = 2 * true_positives / (true_positives + false_positives + positives)
    best = int(np.argmax(f1))  # first maximum: the highest threshold among equals
    below = thresholds[best + 1] if best + 1 < thresholds.size else min(0.0, thresholds[best])
    middle = (thresholds[best] + below) / 2
    return float(middle if middle > below else thresholds[best])  # adjacent floats: no middle
