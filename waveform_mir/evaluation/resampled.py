"""The headline scores of many bootstrap resamples of tracks at once.

A bootstrap resample of N test tracks draws each track k ≥ 0 times. Copying the arrays for
each of a thousand resamples would be slow, so a resample is a row of multiplicities
(``counts`` (resamples, tracks), each row summing to N) and every score is written as a
weighted sum over tracks, for all resamples in one matrix product. The score of row ``b`` is
exactly the package's own metric on that resample's tracks, duplicates included
(:func:`~waveform_mir.evaluation.metrics.classification_scores`,
:func:`~waveform_mir.evaluation.tagging_metrics.tagging_scores`; the tests hold them equal),
so a row of ones gives the full-sample score.

Tags follow the full-sample rule in every resample: a tag with no positive or no negative
track among the drawn ones cannot be ranked there and is left out of that resample's macro
average (scoring it 0, 0.5 or 1 would pull the interval towards a number the model never
earned). A resample in which no tag can be ranked at all scores NaN, which the intervals
skip.
"""

from __future__ import annotations

import numpy as np

from .metrics import normalised, track_log_losses


def resample_counts(num_tracks: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples, num_tracks) float64 multiplicities of ``resamples`` bootstrap draws of
    ``num_tracks`` tracks with replacement; the same ``seed`` gives the same draws."""
    if num_tracks < 1 or resamples < 1:
        raise ValueError(f"need tracks and resamples, got {num_tracks} and {resamples}")
    drawn = np.random.default_rng(seed).integers(0, num_tracks, size=(resamples, num_tracks))
    rows = drawn + num_tracks * np.arange(resamples)[:, None]
    counts = np.bincount(rows.ravel(), minlength=resamples * num_tracks)
    return counts.reshape(resamples, num_tracks).astype(np.float64)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """``numerator / denominator``, 0 where the denominator is 0 (scikit-learn's
    ``zero_division=0``, as the package's F1 has it)."""
    return np.divide(numerator, denominator, out=np.zeros_like(numerator),
                     where=denominator > 0)


def _macro(values: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """(resamples,) mean of ``values`` (resamples, labels) over the ``counted`` labels of
    each resample; NaN where none counts."""
    number = counted.sum(axis=1)
    total = np.where(counted, values, 0.0).sum(axis=1)
    return np.divide(total, number, out=np.full(len(number), np.nan), where=number > 0)


def classification_resamples(probabilities: np.ndarray, labels: np.ndarray,
                             counts: np.ndarray) -> dict[str, np.ndarray]:
    """Accuracy, macro-F1 and log loss of every resample of one model's tracks.

    Args:
        probabilities: (tracks, classes) track probabilities.
        labels: (tracks,) true class ids.
        counts: (resamples, tracks) multiplicities (:func:`resample_counts`).

    Returns:
        ``accuracy``, ``macro_f1`` (over the classes present in the resample, as the full
        metric averages over the classes present in the split) and ``log_loss``, each
        (resamples,).
    """
    probs = normalised(probabilities)
    refs = np.asarray(labels, dtype=np.int64)
    num_classes = probs.shape[1]
    truth = np.eye(num_classes)[refs]
    predicted = np.eye(num_classes)[probs.argmax(axis=1)]
    drawn = counts.sum(axis=1)
    support, chosen = counts @ truth, counts @ predicted
    hits = counts @ (truth * predicted)
    f1 = _ratio(2 * hits, support + chosen)  # = 2PR / (P + R), 0 where nothing is hit
    return {"accuracy": hits.sum(axis=1) / drawn,
            "macro_f1": _macro(f1, support > 0),
            "log_loss": counts @ track_log_losses(probs, refs) / drawn}


def _tie_groups(scores: np.ndarray, counts: np.ndarray, truth: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct score, highest first: the drawn positives and negatives scoring it,
    each (resamples, distinct). Tied tracks are one threshold, as in :mod:`.ranking`."""
    order = np.argsort(-scores, kind="mergesort")
    ordered = scores[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    weights = counts[:, order]
    positive = truth[order]
    return (np.add.reduceat(weights * positive, starts, axis=1),
            np.add.reduceat(weights * ~positive, starts, axis=1))


def ranking_resamples(scores: np.ndarray, targets: np.ndarray, counts: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC and average precision of one tag in every resample.

    Args:
        scores: (tracks,) predicted probabilities of the tag.
        targets: (tracks,) its 0/1 truth.
        counts: (resamples, tracks) multiplicities.

    Returns:
        ``(roc_auc, average_precision)``, each (resamples,), NaN in a resample without a
        drawn positive or without a drawn negative (the tag cannot be ranked there).
    """
    truth = np.asarray(targets).reshape(-1) > 0.5
    positives, negatives = _tie_groups(np.asarray(scores, dtype=np.float64), counts, truth)
    true_positives = positives.cumsum(axis=1)
    false_positives = negatives.cumsum(axis=1)
    total_positive, total_negative = true_positives[:, -1], false_positives[:, -1]
    scorable = (total_positive > 0) & (total_negative > 0)
    below = total_negative[:, None] - false_positives  # drawn negatives scoring lower
    pairs = (positives * (below + 0.5 * negatives)).sum(axis=1)  # Mann-Whitney U, ties half
    auc = np.divide(pairs, total_positive * total_negative, out=np.full(len(pairs), np.nan),
                    where=scorable)
    precision = _ratio(true_positives, true_positives + false_positives)
    gained = (positives * precision).sum(axis=1)
    average_precision = np.divide(gained, total_positive, out=np.full(len(gained), np.nan),
                                  where=scorable)
    return auc, average_precision


def tagging_resamples(probabilities: np.ndarray, targets: np.ndarray, counts: np.ndarray,
                      thresholds: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Macro ROC-AUC, macro PR-AUC and (given thresholds) macro-F1 of every resample.

    Args:
        probabilities: (tracks, tags) per-tag probabilities.
        targets: (tracks, tags) 0/1 truth.
        counts: (resamples, tracks) multiplicities.
        thresholds: (tags,) decision thresholds chosen on validation, or ``None``.

    Returns:
        ``macro_roc_auc``, ``macro_pr_auc`` and, with thresholds, ``macro_f1``, each
        (resamples,): means over the tags that have a drawn positive and a drawn negative in
        that resample (NaN where no tag has).
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    truth = np.asarray(targets) > 0.5
    ranked = [ranking_resamples(probs[:, t], truth[:, t], counts) for t in range(probs.shape[1])]
    auc = np.stack([pair[0] for pair in ranked], axis=1)
    precision = np.stack([pair[1] for pair in ranked], axis=1)
    scores = {"macro_roc_auc": _macro(auc, np.isfinite(auc)),
              "macro_pr_auc": _macro(precision, np.isfinite(precision))}
    if thresholds is not None:
        predicted = probs >= np.asarray(thresholds, dtype=np.float64)
        present = counts @ truth
        f1 = _ratio(2 * (counts @ (predicted & truth)), counts @ predicted + present)
        scorable = (present > 0) & (present < counts.sum(axis=1, keepdims=True))
        scores["macro_f1"] = _macro(f1, scorable)
    return scores
