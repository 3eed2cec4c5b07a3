"""The package's offline metric against scikit-learn, and track aggregation by hand."""

import numpy as np
import pytest
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

from waveform_mir.evaluation.metrics import GenreMetric, aggregate_by_track, classification_scores


@pytest.fixture
def fixed_arrays():
    rng = np.random.default_rng(7)
    logits = rng.normal(size=(200, 5)) + np.eye(5)[rng.integers(0, 5, 200)] * 1.5
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    # unbalanced references: class 4 is rare, so macro and weighted F1 differ
    refs = rng.choice(5, size=200, p=[0.35, 0.3, 0.2, 0.1, 0.05])
    return probs, refs


def test_metric_equals_scikit_learn(fixed_arrays):
    probs, refs = fixed_arrays
    metric = GenreMetric()
    metric.add_batch(predictions=probs[:120].astype(np.float32), references=refs[:120])
    metric.add_batch(predictions=probs[120:].astype(np.float32), references=refs[120:])
    scores = metric.compute(label_names=list("abcde"))
    predicted = probs.argmax(axis=1)
    assert scores["accuracy"] == pytest.approx(accuracy_score(refs, predicted))
    assert scores["macro_f1"] == pytest.approx(f1_score(refs, predicted, average="macro"))
    assert scores["weighted_f1"] == pytest.approx(f1_score(refs, predicted, average="weighted"))
    assert scores["log_loss"] == pytest.approx(log_loss(refs, probs, labels=range(5)), rel=1e-5)
    assert scores["top3_accuracy"] == pytest.approx(
        top_k_accuracy_score(refs, probs, k=3, labels=range(5)))
    np.testing.assert_array_equal(scores["confusion_matrix"], confusion_matrix(refs, predicted))
    precision, recall, f1, support = precision_recall_fscore_support(refs, predicted,
                                                                     zero_division=0)
    for i, name in enumerate("abcde"):
        assert scores["per_class"][name]["precision"] == pytest.approx(precision[i])
        assert scores["per_class"][name]["recall"] == pytest.approx(recall[i])
        assert scores["per_class"][name]["f1"] == pytest.approx(f1[i])
        assert scores["per_class"][name]["support"] == support[i]


def test_perfect_and_confident_wrong_predictions():
    refs = np.array([0, 1, 2])
    perfect = classification_scores(np.eye(3), refs)
    assert perfect["accuracy"] == 1.0 and perfect["macro_f1"] == 1.0
    assert perfect["log_loss"] == pytest.approx(0.0, abs=1e-9)
    wrong = classification_scores(np.eye(3)[[1, 2, 0]], refs)
    assert wrong["accuracy"] == 0.0 and wrong["log_loss"] > 30  # clipped, finite


def test_track_aggregation_by_hand():
    chunk_probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.3, 0.7], [1.0, 0.0]])
    track_index = np.array([0, 0, 1, 1, 2])
    tracks = aggregate_by_track(chunk_probs, track_index)
    np.testing.assert_allclose(tracks, [[0.55, 0.45], [0.35, 0.65], [1.0, 0.0]])


def test_track_aggregation_refuses_a_track_without_chunks():
    with pytest.raises(ValueError, match="without any chunk"):
        aggregate_by_track(np.ones((2, 2)) / 2, np.array([0, 2]), num_tracks=3)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="probabilities"):
        classification_scores(np.ones((3, 2)) / 2, [0, 1])
