"""Tagging metric: equal to scikit-learn on fixed arrays; thresholds; degenerate tags."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

from waveform_mir.evaluation.ranking import (
    average_precision,
    best_f1_threshold,
    f1_at,
    roc_auc,
)
from waveform_mir.evaluation.tagging_metrics import (
    TaggingMetric,
    choose_thresholds,
    tagging_scores,
    track_tagging_scores,
)

# 8 tracks × 4 tags; tag 3 ("never") has no positive, so it cannot be ranked.
TARGETS = np.array([
    [1, 0, 1, 0], [0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 0],
    [1, 0, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [1, 1, 1, 0],
])
PROBS = np.array([
    [0.9, 0.2, 0.6, 0.1], [0.3, 0.8, 0.6, 0.2], [0.7, 0.4, 0.2, 0.05], [0.2, 0.4, 0.9, 0.3],
    [0.6, 0.1, 0.5, 0.1], [0.4, 0.7, 0.3, 0.2], [0.5, 0.3, 0.1, 0.4], [0.8, 0.9, 0.6, 0.1],
])  # ties inside tags 1 (0.4) and 2 (0.6), between a positive and a negative
NAMES = ["rock", "drums", "happy", "never"]


def _random_case(seed: int, tracks: int = 40, tags: int = 6):
    rng = np.random.default_rng(seed)
    truth = (rng.random((tracks, tags)) < rng.uniform(0.1, 0.6, tags)).astype(int)
    truth[:, 0] = 1  # an all-positive tag: degenerate the other way
    probs = np.round(np.clip(truth * 0.3 + rng.random((tracks, tags)) * 0.7, 0, 1), 1)
    return truth, probs  # rounded to one decimal: many ties


CASES = [(TARGETS, PROBS), _random_case(1), _random_case(2)]


@pytest.mark.parametrize(("truth", "probs"), CASES)
def test_per_tag_ranking_scores_equal_scikit_learn(truth, probs):
    for t in range(truth.shape[1]):
        column, scores = truth[:, t], probs[:, t]
        if 0 < column.sum() < len(column):
            assert roc_auc(column, scores) == pytest.approx(roc_auc_score(column, scores))
            assert average_precision(column, scores) == pytest.approx(
                average_precision_score(column, scores))
        else:
            assert np.isnan(roc_auc(column, scores))


@pytest.mark.parametrize(("truth", "probs"), CASES)
def test_macro_and_micro_equal_scikit_learn_over_scorable_tags(truth, probs):
    scores = tagging_scores(probs, truth)
    keep = [t for t in range(truth.shape[1]) if 0 < truth[:, t].sum() < len(truth)]
    assert scores["macro_roc_auc"] == pytest.approx(
        roc_auc_score(truth[:, keep], probs[:, keep], average="macro"))
    assert scores["macro_pr_auc"] == pytest.approx(
        average_precision_score(truth[:, keep], probs[:, keep], average="macro"))
    assert scores["micro_roc_auc"] == pytest.approx(
        roc_auc_score(truth, probs, average="micro"))
    assert scores["micro_pr_auc"] == pytest.approx(
        average_precision_score(truth, probs, average="micro"))


@pytest.mark.parametrize(("truth", "probs"), CASES)
def test_prior_is_the_pr_auc_of_a_ranking_that_ignores_the_audio(truth, probs):
    constant = np.full(probs.shape, 0.5)
    assert tagging_scores(probs, truth)["prior_pr_auc"] == pytest.approx(
        tagging_scores(constant, truth)["macro_pr_auc"])
    assert tagging_scores(probs, truth)["prior_pr_auc"] < tagging_scores(probs, truth)[
        "macro_pr_auc"]


def test_degenerate_tag_is_left_out_and_reported():
    scores = tagging_scores(PROBS, TARGETS, NAMES)
    assert scores["left_out"] == ["never"]
    assert scores["per_tag"]["never"] == {"roc_auc": None, "average_precision": None,
                                          "positives": 0}
    assert scores["per_tag"]["happy"]["positives"] == 5
    # the macro mean is over the three scorable tags, not diluted by a 0 for "never"
    per_tag = [scores["per_tag"][n]["roc_auc"] for n in NAMES[:3]]
    assert scores["macro_roc_auc"] == pytest.approx(np.mean(per_tag))
    assert scores["num_tags"] == 4 and scores["num_examples"] == 8


def test_f1_at_thresholds_equals_scikit_learn():
    thresholds = np.array([0.5, 0.4, 0.6, 0.35])
    scores = tagging_scores(PROBS, TARGETS, NAMES, thresholds)
    probs = PROBS
    predicted = (probs >= thresholds).astype(int)
    for t, name in enumerate(NAMES):
        expected = f1_score(TARGETS[:, t], predicted[:, t], zero_division=0)
        assert scores["per_tag"][name]["f1"] == pytest.approx(expected)
        assert scores["per_tag"][name]["threshold"] == thresholds[t]
    assert scores["macro_f1"] == pytest.approx(
        f1_score(TARGETS[:, :3], predicted[:, :3], average="macro", zero_division=0))
    assert scores["micro_f1"] == pytest.approx(
        f1_score(TARGETS, predicted, average="micro", zero_division=0))
    assert f1_at(TARGETS[:, 3], PROBS[:, 3], 0.35)["f1"] == 0.0  # no positive: 0, not NaN


@pytest.mark.parametrize(("truth", "probs"), CASES)
def test_chosen_thresholds_reach_the_best_f1_of_any_threshold(truth, probs):
    thresholds = choose_thresholds(probs, truth, default=0.5)
    for t in range(truth.shape[1]):
        if not truth[:, t].any():
            assert thresholds[t] == 0.5
            continue
        best = max(f1_score(truth[:, t], probs[:, t] >= c) for c in np.unique(probs[:, t]))
        reached = f1_score(truth[:, t], probs[:, t] >= thresholds[t])
        assert reached == pytest.approx(best)
        # strictly between two scores (or at 0), so validation decisions do not hinge on ==
        assert thresholds[t] not in set(probs[:, t]) or thresholds[t] == 0.0


def test_threshold_is_half_way_and_prefers_fewer_false_alarms():
    truth = np.array([1, 1, 0, 0])
    assert best_f1_threshold(truth, np.array([0.9, 0.7, 0.3, 0.1])) == pytest.approx(0.5)
    # top one and all four both give F1 2/3: the higher threshold (between 0.9 and 0.8) wins
    tie = best_f1_threshold(np.array([1, 0, 0, 1]), np.array([0.9, 0.8, 0.7, 0.6]))
    assert tie == pytest.approx(0.85)
    # best with every track predicted: half-way down to 0
    assert best_f1_threshold(np.array([1, 1]), np.array([0.2, 0.4])) == pytest.approx(0.1)
    assert best_f1_threshold(np.zeros(3), np.array([0.2, 0.5, 0.9])) is None


def test_track_level_averages_chunks_before_scoring():
    chunk_probs = np.array([[0.9, 0.1], [0.1, 0.1], [0.2, 0.8], [0.4, 0.6]])
    track_index = np.array([0, 0, 1, 1])  # track 0: [0.5, 0.1]; track 1: [0.3, 0.7]
    truth = np.array([[1, 0], [0, 1]])
    scores = track_tagging_scores(chunk_probs, track_index, truth, ["a", "b"],
                                  thresholds=np.array([0.45, 0.65]))
    assert scores["num_examples"] == 2
    assert scores["macro_roc_auc"] == 1.0
    assert scores["per_tag"]["a"]["f1"] == 1.0 and scores["per_tag"]["b"]["f1"] == 1.0
    shifted = track_tagging_scores(chunk_probs, track_index, truth, ["a", "b"],
                                   thresholds=np.array([0.55, 0.65]))
    assert shifted["per_tag"]["a"]["f1"] == 0.0  # the mean 0.5, not the max 0.9, is scored


def test_evaluate_metric_matches_the_function():
    metric = TaggingMetric()
    metric.add_batch(predictions=PROBS[:5].tolist(), references=TARGETS[:5].tolist())
    metric.add_batch(predictions=PROBS[5:].tolist(), references=TARGETS[5:].tolist())
    thresholds = [0.5, 0.5, 0.5, 0.5]
    scores = metric.compute(tag_names=NAMES, thresholds=thresholds)
    expected = tagging_scores(PROBS.astype(np.float32), TARGETS, NAMES, np.array(thresholds))
    assert scores["macro_pr_auc"] == pytest.approx(expected["macro_pr_auc"])
    assert scores["macro_f1"] == pytest.approx(expected["macro_f1"])
    assert scores["left_out"] == ["never"]


def test_shape_errors_are_clear():
    with pytest.raises(ValueError, match=r"\(N, tags\)"):
        tagging_scores(PROBS, TARGETS[:, :3])
    with pytest.raises(ValueError, match="one threshold per tag"):
        tagging_scores(PROBS, TARGETS, thresholds=np.array([0.5]))
    with pytest.raises(ValueError, match="3 tag names for 4 tags"):
        tagging_scores(PROBS, TARGETS, NAMES[:3])
