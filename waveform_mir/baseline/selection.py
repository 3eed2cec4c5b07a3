"""Pick each classifier's setting on validation, refit, and score the test tracks once.

Scoring is the end-to-end path's: chunk probabilities are averaged per track
(:func:`~waveform_mir.evaluation.metrics.aggregate_by_track`) and passed to
:func:`~waveform_mir.evaluation.metrics.classification_scores`, so baseline and model
numbers share keys and meaning. A setting is chosen by the rule every model of the package
is chosen by (:data:`~waveform_mir.evaluation.selection.SELECTION_RULE`). The chosen setting
is then refit on train + validation, the data a deployed model would be trained on, and only
that refit sees test.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.pipeline import Pipeline

from waveform_mir.evaluation.metrics import (
    aggregate_by_track,
    classification_scores,
)
from waveform_mir.evaluation.selection import HEADLINES, is_better
from waveform_mir.evaluation.tagging_metrics import choose_thresholds, is_tagging, tagging_scores
from waveform_mir.evaluation.track_outputs import TrackOutputs

from .classifiers import CLASSIFIERS, fit_pipeline, predict_probabilities
from .extract import SplitFeatures

REFIT_ON = "train+validation"


@dataclass
class ClassifierResult:
    """One classifier's outcome: chosen ``params``, every setting's validation headline,
    the chosen setting's validation scores, the refit's seconds, its full test scores and
    its per-track test outputs (what intervals and paired comparisons are drawn from)."""

    name: str
    params: dict[str, Any]
    grid: list[dict[str, Any]]
    validation: dict
    test: dict
    fit_seconds: float
    test_tracks: TrackOutputs

    def to_dict(self) -> dict[str, Any]:
        return {
            "params": self.params,
            "fit_seconds": round(self.fit_seconds, 3),
            "validation": headline(self.validation),
            "grid": self.grid,
            "test": self.test,
        }


def headline(scores: dict) -> dict[str, float]:
    """The scores a table shows: the classification or the tagging headline."""
    task = "multi_label" if is_tagging(scores) else "single_label"
    return {key: scores.get(key) for key in HEADLINES[task]}


def track_probabilities(model: Pipeline, split: SplitFeatures, num_labels: int) -> np.ndarray:
    """(tracks, labels) probabilities of ``model`` on ``split``: its chunks' averaged."""
    chunk_probs = predict_probabilities(model, split.features, num_labels)
    return aggregate_by_track(chunk_probs, split.track_index, split.num_tracks)


def track_scores(track_probs: np.ndarray, split: SplitFeatures, label_names: list[str],
                 thresholds: np.ndarray | None = None) -> dict:
    """Track-level scores: as classes or, for multi-hot labels, as tags (ROC-AUC, PR-AUC, and
    F1 where per-tag ``thresholds`` are given)."""
    if split.labels.ndim == 2:
        return tagging_scores(track_probs, split.labels, label_names, thresholds)
    return classification_scores(track_probs, split.labels, label_names)


def _concat(first: SplitFeatures, second: SplitFeatures) -> tuple[np.ndarray, np.ndarray]:
    return (np.concatenate([first.features, second.features]),
            np.concatenate([first.chunk_labels, second.chunk_labels]))


def select_and_test(name: str, splits: dict[str, SplitFeatures], label_names: list[str]
                    ) -> ClassifierResult:
    """Grid over ``CLASSIFIERS[name]`` on train → validation, refit the best, score test.

    For tags, the chosen setting's validation probabilities also fix each tag's decision
    threshold (best F1, as a trained tagger's are), applied unchanged to the refit on test.
    """
    train, validation, test = splits["train"], splits["validation"], splits["test"]
    grid, best_params, best_scores, best_probs = [], None, None, None
    for params in CLASSIFIERS[name].settings():
        model = fit_pipeline(name, params, train.features, train.chunk_labels)
        probs = track_probabilities(model, validation, len(label_names))
        scores = track_scores(probs, validation, label_names)
        grid.append({"params": params, **headline(scores)})
        if is_better(scores, best_scores):
            best_params, best_scores, best_probs = params, scores, probs
    thresholds = None
    if validation.labels.ndim == 2:
        thresholds = choose_thresholds(best_probs, validation.labels)
        best_scores = track_scores(best_probs, validation, label_names, thresholds)
    features, labels = _concat(train, validation)
    start = time.perf_counter()
    model = fit_pipeline(name, best_params, features, labels)
    fit_seconds = time.perf_counter() - start
    test_probs = track_probabilities(model, test, len(label_names))
    return ClassifierResult(name, best_params, grid, best_scores,
                            track_scores(test_probs, test, label_names, thresholds),
                            fit_seconds,
                            TrackOutputs(test.track_ids, test_probs, test.labels, thresholds))
