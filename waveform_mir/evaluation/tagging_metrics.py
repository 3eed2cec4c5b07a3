"""Multi-label tagging scores as an offline ``evaluate.Metric``, the tagging sibling of
:class:`~waveform_mir.evaluation.metrics.GenreMetric`.

A tagger outputs one independent probability per tag (sigmoid, not softmax), so it is judged
per tag and then averaged: ROC-AUC and PR-AUC (average precision) need no threshold and are
the headline scores of music auto-tagging; F1 needs a yes/no per tag, made by thresholds
chosen per tag on validation (:func:`choose_thresholds`) and applied unchanged to test
(:func:`tagging_scores` with ``thresholds``). *Macro* averages weigh every tag the same (a
rare mood counts as much as "rock"); *micro* scores pool every (track, tag) pair.

A tag with no positive or no negative track in a split cannot be ranked there: it is left
out of every macro average and listed under ``left_out`` rather than scored 0 or 1. Micro
scores keep it, as scikit-learn's ``average="micro"`` does.

Evaluation is track-level, as for genres: a track's chunk probabilities are averaged by
:func:`~waveform_mir.evaluation.metrics.aggregate_by_track` before scoring
(:func:`track_tagging_scores`).
"""

from __future__ import annotations

from collections.abc import Sequence

import datasets
import evaluate
import numpy as np

from .metrics import aggregate_by_track
from .ranking import average_precision, best_f1_threshold, f1_at, is_scorable, roc_auc

HEADLINE_TAGGING_METRICS = ("macro_roc_auc", "macro_pr_auc", "macro_f1")


def _arrays(probabilities: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probs = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(targets, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != truth.shape or len(probs) == 0:
        raise ValueError(f"need (N, tags) probabilities and (N, tags) 0/1 targets, got "
                         f"{probs.shape} and {truth.shape}")
    return probs, truth


def _names(tag_names: Sequence[str] | None, num_tags: int) -> list[str]:
    names = list(tag_names) if tag_names is not None else [str(i) for i in range(num_tags)]
    if len(names) != num_tags:
        raise ValueError(f"{len(names)} tag names for {num_tags} tags")
    return names


def _mean(values: np.ndarray) -> float | None:
    """Mean of the finite values; ``None`` (JSON null) when there is none."""
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else None


def _number(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def is_tagging(scores: dict) -> bool:
    """Whether ``scores`` come from this metric (tags), not the classification one."""
    return "macro_pr_auc" in scores


def choose_thresholds(probabilities: np.ndarray, targets: np.ndarray, default: float = 0.5
                      ) -> np.ndarray:
    """Per-tag decision thresholds that maximise each tag's F1 on these (validation) tracks.

    Args:
        probabilities: (tracks, tags) predicted probabilities.
        targets: (tracks, tags) 0/1 truth.
        default: the threshold of a tag with no positive track here (nothing to tune on).

    Returns:
        (tags,) float64 thresholds; predict a tag where ``probability >= threshold``.
    """
    probs, truth = _arrays(probabilities, targets)
    chosen = [best_f1_threshold(truth[:, t], probs[:, t]) for t in range(probs.shape[1])]
    return np.array([default if value is None else value for value in chosen])


def threshold_scores(probabilities: np.ndarray, targets: np.ndarray, thresholds: np.ndarray,
                     tag_names: Sequence[str] | None = None) -> dict:
    """F1 of yes/no decisions at given per-tag thresholds (chosen on validation).

    Returns ``macro_f1`` (mean over the tags that have a positive and a negative track),
    ``micro_f1`` (pooled over every track and tag), and ``per_tag`` with each tag's
    ``threshold``, ``precision``, ``recall`` and ``f1``.
    """
    probs, truth = _arrays(probabilities, targets)
    cuts = np.asarray(thresholds, dtype=np.float64).reshape(-1)
    if cuts.shape != (probs.shape[1],):
        raise ValueError(f"need one threshold per tag ({probs.shape[1]}), got {cuts.shape}")
    names = _names(tag_names, probs.shape[1])
    per_tag = {name: {"threshold": float(cut), **f1_at(truth[:, t], probs[:, t], cut)}
               for t, (name, cut) in enumerate(zip(names, cuts, strict=True))}
    scorable = np.array([is_scorable(truth[:, t]) for t in range(probs.shape[1])])
    f1 = np.array([per_tag[name]["f1"] for name in names])
    return {
        "macro_f1": _mean(np.where(scorable, f1, np.nan)),
        "micro_f1": _micro_f1(truth, probs >= cuts),
        "per_tag": per_tag,
    }


def _micro_f1(truth: np.ndarray, predicted: np.ndarray) -> float:
    """F1 of every (track, tag) decision pooled: 2 TP / (2 TP + FP + FN)."""
    hits = float((predicted & (truth > 0.5)).sum())
    denominator = float(predicted.sum() + (truth > 0.5).sum())
    return 2 * hits / denominator if denominator else 0.0


def tagging_scores(probabilities: np.ndarray, targets: np.ndarray,
                   tag_names: Sequence[str] | None = None,
                   thresholds: np.ndarray | None = None) -> dict:
    """All tagging scores of one split; the numeric core behind :class:`TaggingMetric`.

    Args:
        probabilities: (tracks, tags) independent per-tag probabilities.
        targets: (tracks, tags) 0/1 truth (multi-hot).
        tag_names: tag names for the per-tag report; defaults to the ids.
        thresholds: (tags,) decision thresholds chosen on validation; when given, F1 scores
            are added (:func:`threshold_scores`).

    Returns:
        ``macro_roc_auc``, ``macro_pr_auc`` (``None`` when no tag is scorable),
        ``micro_roc_auc``, ``micro_pr_auc``, ``prior_pr_auc`` (the macro PR-AUC of a
        ranking that ignores the audio: each scorable tag's positive rate),
        ``num_examples``, ``num_tags``, ``tag_names``,
        ``left_out`` (tags without a positive or a negative track here) and ``per_tag``
        (``roc_auc`` and ``average_precision``, ``None`` where undefined, and ``positives``);
        with thresholds also ``macro_f1``, ``micro_f1`` and per-tag threshold, precision,
        recall and F1.
    """
    probs, truth = _arrays(probabilities, targets)
    names = _names(tag_names, probs.shape[1])
    columns = range(probs.shape[1])
    scorable = np.array([is_scorable(truth[:, t]) for t in columns])
    auc = np.array([roc_auc(truth[:, t], probs[:, t]) for t in columns])
    precision = np.array([average_precision(truth[:, t], probs[:, t]) if scorable[t]
                          else np.nan for t in columns])
    scores = {
        "macro_roc_auc": _mean(auc),
        "macro_pr_auc": _mean(precision),
        "micro_roc_auc": _number(roc_auc(truth, probs)),
        "micro_pr_auc": _number(average_precision(truth, probs)),
        "prior_pr_auc": _mean(np.where(scorable, truth.mean(axis=0), np.nan)),
        "num_examples": int(len(probs)),
        "num_tags": len(names),
        "tag_names": names,
        "left_out": [name for name, ok in zip(names, scorable, strict=True) if not ok],
        "per_tag": {
            name: {"roc_auc": _number(auc[t]), "average_precision": _number(precision[t]),
                   "positives": int(truth[:, t].sum())}
            for t, name in enumerate(names)
        },
    }
    if thresholds is not None:
        decided = threshold_scores(probs, truth, thresholds, names)
        for name, values in decided.pop("per_tag").items():
            scores["per_tag"][name].update(values)
        scores.update(decided)
    return scores


def track_tagging_scores(chunk_probs: np.ndarray, track_index: np.ndarray,
                         track_targets: np.ndarray, tag_names: Sequence[str] | None = None,
                         thresholds: np.ndarray | None = None) -> dict:
    """:func:`tagging_scores` of tracks from their chunks' probabilities.

    Args:
        chunk_probs: (chunks, tags) probabilities of every chunk.
        track_index: (chunks,) track of each chunk, 0 … tracks-1.
        track_targets: (tracks, tags) 0/1 truth of each track.
    """
    track_probs = aggregate_by_track(chunk_probs, track_index, len(track_targets))
    return tagging_scores(track_probs, track_targets, tag_names, thresholds)


class TaggingMetric(evaluate.Metric):
    """Track-level tagging scores as an ``evaluate`` metric that needs no download.

    Inputs: ``predictions`` are per-example tag probabilities, ``references`` the 0/1
    multi-hot truth, both a list of floats per example. ``compute(tag_names=…,
    thresholds=…)`` returns the dictionary of :func:`tagging_scores`.

    Example::

        metric = TaggingMetric()
        metric.add_batch(predictions=probs, references=multi_hot)
        scores = metric.compute(tag_names=["drums", "bass"], thresholds=[0.4, 0.6])
    """

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Macro/micro ROC-AUC and PR-AUC, per-tag scores, and F1 at per-tag "
            "thresholds from multi-label probabilities.",
            citation="",
            inputs_description="predictions: (N, T) probabilities; references: (N, T) 0/1",
            features=datasets.Features({
                "predictions": datasets.Sequence(datasets.Value("float32")),
                "references": datasets.Sequence(datasets.Value("float32")),
            }),
        )

    def _compute(self, predictions, references, tag_names=None, thresholds=None) -> dict:
        cuts = None if thresholds is None else np.asarray(thresholds, dtype=np.float64)
        return tagging_scores(np.asarray(predictions), np.asarray(references), tag_names, cuts)
