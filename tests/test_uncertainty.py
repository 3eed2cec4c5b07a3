"""Intervals over test tracks and paired comparisons, checked against what they must do:
cover a known score at about the nominal rate, score each resample as the package's metric
would, resample tracks (not chunks) jointly across seeds and rows, detect a planted
difference, stay quiet on two copies of one model, and reproduce hand-computed McNemar and
Holm values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from waveform_mir.evaluation.metrics import aggregate_by_track, classification_scores
from waveform_mir.evaluation.paired import (
    bootstrap_p,
    compare,
    compare_rows,
    holm,
    mcnemar_exact,
    verdict,
)
from waveform_mir.evaluation.resampled import (
    classification_resamples,
    resample_counts,
    tagging_resamples,
)
from waveform_mir.evaluation.tagging_metrics import tagging_scores
from waveform_mir.evaluation.track_outputs import TrackOutputs
from waveform_mir.evaluation.uncertainty import (
    Bootstrap,
    row_intervals,
    row_resamples,
    with_intervals,
)

TRACKS = 100
SIMULATIONS = 200


def ids(count: int = TRACKS) -> np.ndarray:
    return np.array([f"track{i:03d}" for i in range(count)])


def outputs(probabilities: np.ndarray, labels: np.ndarray, **extra) -> TrackOutputs:
    return TrackOutputs(ids(len(labels)), probabilities, labels, **extra)


def expanded(counts_row: np.ndarray) -> np.ndarray:
    """The track rows one resample draws, duplicates repeated."""
    return np.repeat(np.arange(len(counts_row)), counts_row.astype(int))


# --- every resample is scored as the package scores a split --------------------------------


def test_each_resample_scores_what_the_package_metric_gives_on_it():
    rng = np.random.default_rng(0)
    probs, labels = rng.dirichlet(np.ones(4), 40), rng.integers(0, 4, 40)
    counts = resample_counts(40, 50, seed=1)
    resampled = classification_resamples(probs, labels, counts)
    for b in range(50):
        rows = expanded(counts[b])
        expected = classification_scores(probs[rows], labels[rows])
        for metric, values in resampled.items():
            assert values[b] == pytest.approx(expected[metric], abs=1e-12), metric
    full = classification_resamples(probs, labels, np.ones((1, 40)))
    scores = classification_scores(probs, labels)
    assert {m: float(v[0]) for m, v in full.items()} == pytest.approx(
        {m: scores[m] for m in full}, abs=1e-12)


def test_tag_resamples_match_the_tagging_metric_even_where_a_tag_goes_missing():
    rng = np.random.default_rng(2)
    rates = np.array([0.5, 0.3, 0.1, 0.04, 0.02])
    targets = (rng.random((50, 5)) < rates).astype(float)
    probs = np.round(rng.random((50, 5)), 1)  # coarse scores: many ties
    thresholds = rng.random(5)
    counts = resample_counts(50, 300, seed=3)
    resampled = tagging_resamples(probs, targets, counts, thresholds)
    missing = 0
    for b in range(300):
        rows = expanded(counts[b])
        expected = tagging_scores(probs[rows], targets[rows], thresholds=thresholds)
        missing += bool(expected["left_out"])
        for metric, values in resampled.items():
            assert values[b] == pytest.approx(expected[metric], abs=1e-12), (b, metric)
    assert missing > 30  # the rare tags really were absent from many resamples


def test_a_tag_without_positives_in_a_resample_is_left_out_not_scored():
    """Every tag perfectly ranked, one with a single positive: every resample, with or
    without that positive, scores 1 (scoring the absent tag 0 or 0.5 would not)."""
    targets = np.zeros((30, 3))
    targets[:10, 0], targets[:15, 1], targets[0, 2] = 1, 1, 1
    probs = 0.2 + 0.6 * targets
    intervals = row_intervals([outputs(probs, targets)], Bootstrap(resamples=500))
    assert intervals["macro_roc_auc"] == (1.0, 1.0)
    assert intervals["macro_pr_auc"] == (1.0, 1.0)


# --- intervals cover the truth at about the nominal rate ----------------------------------


def simulated_tracks(rng: np.random.Generator, accuracy: float, chunks: int = 8
                     ) -> TrackOutputs:
    """Three genres; each track is recognised with probability ``accuracy``, and its
    ``chunks`` chunk scores share that fate (the same favoured class, their own noise),
    averaged per track as the evaluator does."""
    labels = rng.integers(0, 3, TRACKS)
    recognised = rng.random(TRACKS) < accuracy
    favoured = np.where(recognised, labels, (labels + rng.integers(1, 3, TRACKS)) % 3)
    logits = 3.0 * np.eye(3)[np.repeat(favoured, chunks)] + rng.normal(
        0, 0.5, (TRACKS * chunks, 3))
    chunk_probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    track_probs = aggregate_by_track(chunk_probs, np.repeat(np.arange(TRACKS), chunks))
    return outputs(track_probs, labels)


def test_accuracy_intervals_over_tracks_cover_the_true_accuracy_at_the_nominal_rate():
    rng = np.random.default_rng(10)
    covered, widths = 0, []
    for simulation in range(SIMULATIONS):
        low, high = row_intervals([simulated_tracks(rng, 0.7)],
                                  Bootstrap(seed=simulation))["accuracy"]
        covered += low <= 0.7 <= high
        widths.append(high - low)
    assert 0.88 <= covered / SIMULATIONS <= 0.99
    # the binomial spread of 100 tracks, 2 · 1.96 · sqrt(0.7 · 0.3 / 100) = 0.18; chunks
    # resampled as if independent would give a third of it
    assert 0.15 <= np.mean(widths) <= 0.21


def binormal_tags(rng: np.random.Generator, separation: float) -> TrackOutputs:
    """Three tags whose scores are N(separation, 1) on positives and N(0, 1) on negatives
    (every tag's true ROC-AUC Φ(separation / √2)): two common, one with a single positive."""
    targets = (rng.random((TRACKS, 3)) < [0.3, 0.2, 0.0]).astype(float)
    targets[rng.integers(TRACKS), 2] = 1
    scores = rng.normal(0, 1, targets.shape) + separation * targets
    return outputs(1 / (1 + np.exp(-scores)), targets)


def test_roc_auc_intervals_cover_the_true_auc_and_a_rare_tag_biases_nothing():
    rng = np.random.default_rng(11)
    truth = float(norm.cdf(1.0 / np.sqrt(2)))  # 0.760
    covered, centres = 0, []
    for simulation in range(SIMULATIONS):
        bootstrap = Bootstrap(seed=simulation)
        samples = row_resamples([binormal_tags(rng, 1.0)], bootstrap.counts(TRACKS))
        low, high = bootstrap.bounds(samples["macro_roc_auc"])
        covered += low <= truth <= high
        centres.append(samples["macro_roc_auc"].mean())
    assert 0.88 <= covered / SIMULATIONS <= 0.99
    # the single-positive tag is absent from 37 % of resamples: scored 0.5 there instead of
    # left out, the resamples would sit 0.03 low on average
    assert np.mean(centres) == pytest.approx(truth, abs=0.012)


# --- seeds and rows share one draw of tracks ----------------------------------------------


def complementary_seeds() -> list[TrackOutputs]:
    """Two seeds each right on half the tracks, the other half: every resample's mean
    accuracy is exactly 0.5 when both seeds see the same tracks."""
    labels = np.zeros(TRACKS, dtype=int)
    first = np.where((np.arange(TRACKS) < TRACKS // 2)[:, None], [0.9, 0.1], [0.1, 0.9])
    return [outputs(first, labels), outputs(first[:, ::-1].copy(), labels)]


def test_the_seeds_of_a_row_are_resampled_on_the_same_tracks():
    assert row_intervals(complementary_seeds())["accuracy"] == (0.5, 0.5)


def test_a_row_is_aligned_by_track_id_and_chunk_rows_are_refused():
    first, second = complementary_seeds()
    shuffled = np.random.default_rng(0).permutation(TRACKS)
    second = TrackOutputs(second.track_ids[shuffled], second.probabilities[shuffled],
                          second.labels[shuffled])
    assert row_intervals([first, second])["accuracy"] == (0.5, 0.5)
    with pytest.raises(ValueError, match="repeat"):
        TrackOutputs(np.repeat(ids(10), 2), np.full((20, 2), 0.5), np.zeros(20, dtype=int))


def test_scores_get_intervals_that_contain_them():
    tracks = simulated_tracks(np.random.default_rng(3), 0.7)
    scores = with_intervals(classification_scores(tracks.probabilities, tracks.labels),
                            [tracks])
    for metric, (low, high) in scores["intervals"].items():
        assert low <= scores[metric] <= high, metric
    assert scores["bootstrap"]["tracks"] == TRACKS and scores["bootstrap"]["resamples"] == 1000


# --- paired comparisons -------------------------------------------------------------------


def pair(fixed: int, broken: int = 0, seed: int = 0) -> tuple[TrackOutputs, TrackOutputs]:
    """A reference right on 70 % of 100 tracks, and a variant that is the same model except
    on ``fixed`` tracks the reference gets wrong (right there) and ``broken`` it gets right
    (wrong there): strongly correlated, with a planted difference."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, TRACKS)
    right = np.arange(TRACKS) < 70
    wrong_class = (labels + 1) % 3
    reference = np.full((TRACKS, 3), 0.15)
    reference[np.arange(TRACKS), np.where(right, labels, wrong_class)] = 0.7
    variant = reference.copy()
    for rows, target in ((np.arange(70, 70 + fixed), labels), (np.arange(broken), wrong_class)):
        variant[rows] = 0.15
        variant[rows, target[rows]] = 0.7
    return outputs(variant, labels), outputs(reference, labels)


def by_metric(comparisons) -> dict:
    return {c.metric: c for c in comparisons}


def test_a_planted_difference_on_the_same_tracks_is_detected():
    variant, reference = pair(fixed=12, broken=2)
    rows = {"reference": [reference], "variant": [variant]}
    found = by_metric(compare_rows(rows, "reference"))
    assert found["accuracy"].difference == pytest.approx(0.10)
    assert found["accuracy"].test == "McNemar" and found["accuracy"].p_value < 0.05
    assert found["log_loss"].difference < 0 and found["log_loss"].p_value < 0.05
    assert {c.verdict for c in found.values()} == {"better"}
    reversed_roles = by_metric(compare_rows(rows, "variant"))
    assert {c.verdict for c in reversed_roles.values()} == {"worse"}  # log loss included


def test_two_copies_of_one_model_are_not_distinguishable():
    _, reference = pair(fixed=0)
    rows = {"reference": [reference, reference], "copy": [reference, reference]}
    for comparison in compare_rows(rows, "reference"):
        assert comparison.difference == 0 and (comparison.low, comparison.high) == (0, 0)
        assert comparison.p_value == 1 and comparison.holm_p == 1
        assert comparison.verdict == "not distinguishable"


def test_a_small_difference_between_correlated_models_needs_the_pairing():
    """Six tracks more right, nothing else changed: the two rows' own intervals overlap
    widely, but no resample of the same tracks favours the reference."""
    variant, reference = pair(fixed=6)
    intervals = [row_intervals([row, row])["accuracy"] for row in (variant, reference)]
    assert intervals[0][0] < intervals[1][1]  # side by side, nothing to see
    bootstrap = Bootstrap()
    found = by_metric(compare("variant", [variant, variant], "reference",
                              [reference, reference], bootstrap))["accuracy"]
    assert found.test == "paired bootstrap" and found.p_value < 0.05
    assert found.low > 0
    # unpaired: each row on its own draw of tracks
    unpaired = (classification_resamples(variant.probabilities, variant.labels,
                                         resample_counts(TRACKS, 1000, 1))["accuracy"]
                - classification_resamples(reference.probabilities, reference.labels,
                                           resample_counts(TRACKS, 1000, 2))["accuracy"])
    assert bootstrap_p(unpaired) > 0.2
    one_seed = by_metric(compare("variant", [variant], "reference", [reference], bootstrap))
    assert one_seed["accuracy"].p_value == 2 / 2 ** 6  # exact McNemar: 6 against 0


def test_the_paired_p_value_holds_its_level_when_nothing_differs():
    """Two models equally good by construction, errors independent: p < 0.05 about one
    time in twenty (a one-sided or undoubled p would reject twice as often)."""
    rng = np.random.default_rng(12)
    rejected = 0
    for simulation in range(2 * SIMULATIONS):
        labels = np.zeros(TRACKS, dtype=int)
        truth_probability = rng.uniform(0.2, 0.9, (2, TRACKS))
        rows = {name: [outputs(np.stack([p, 1 - p], axis=1), labels)]
                for name, p in zip(("a", "b"), truth_probability, strict=True)}
        found = by_metric(compare("b", rows["b"], "a", rows["a"], Bootstrap(seed=simulation)))
        rejected += found["log_loss"].p_value < 0.05
    assert 0.02 <= rejected / (2 * SIMULATIONS) <= 0.085


def test_mcnemar_matches_the_exact_binomial_by_hand():
    # 1 track only the variant gets right, 7 only the reference: 2 · (C(8,0) + C(8,1)) / 2^8
    variant = np.array([True] + [False] * 7 + [True] * 5)
    reference = np.array([False] + [True] * 7 + [True] * 5)
    assert mcnemar_exact(variant, reference) == pytest.approx(2 * 9 / 256)
    assert mcnemar_exact(reference, variant) == pytest.approx(0.0703125)
    assert mcnemar_exact(variant, variant) == 1.0


def test_holm_matches_a_hand_computed_example():
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 → 0.06 (never decreasing)
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, None, 0.7]) == pytest.approx([1.0, None, 1.0])


def test_holm_decides_the_verdict_and_lower_log_loss_is_better():
    assert verdict("log_loss", -0.1, 0.01) == "better"
    assert verdict("log_loss", 0.1, 0.01) == "worse"
    assert verdict("accuracy", 0.1, 0.06) == "not distinguishable"
    variant, reference = pair(fixed=6)
    rows = {"reference": [reference], **{f"copy{i}": [variant] for i in range(3)}}
    for comparison in compare_rows(rows, "reference"):
        if comparison.metric == "accuracy":  # p = 1/32 for each, 3/32 after Holm
            assert comparison.p_value < 0.05 < comparison.holm_p
            assert comparison.verdict == "not distinguishable"
