"""Paired comparisons of table rows against a reference row on the same test tracks.

Two front-ends scored on one test set err on many of the same tracks (hard tracks are hard
for both), so their scores are strongly correlated and the spread of their *difference* is
far smaller than the two intervals side by side suggest. A paired test uses that: every
bootstrap resample draws one set of tracks and scores both rows on it (each row the mean of
its seeds, :mod:`.uncertainty`), so the resampled differences carry only the disagreement
between the two, not the difficulty of the tracks drawn.

Per metric a comparison reports the difference of the row means (variant − reference; for
log loss a negative difference is the better one), its 95 % percentile interval, and a
two-sided p-value. The p-value is the paired bootstrap's (twice the share of resampled
differences on the far side of zero, with the +1 of a resampling test, so it is never 0 and
is 1 for two copies of one model), except for accuracy between two single-seed rows: there
the exact McNemar test on the tracks the two models disagree on is the standard and needs
no resampling. Several rows compared with one reference are several chances of a false
"better"; Holm's step-down correction (valid under any dependence between the tests) is
applied over the rows of one metric, one table, and the verdict ("better", "worse", "not
distinguishable" at 5 %) reads the adjusted p. The smallest bootstrap p is 2 / (resamples
+ 1), so more resamples are needed for a verdict across many rows.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .track_outputs import TrackOutputs, aligned_rows
from .uncertainty import LOWER_IS_BETTER, Bootstrap, row_point, row_resamples

ALPHA = 0.05


@dataclass
class Comparison:
    """One metric of one row against the reference: the difference of means (variant −
    reference), its interval, the raw and Holm-adjusted p, which test gave p, the verdict."""

    variant: str
    reference: str
    metric: str
    difference: float | None
    low: float | None
    high: float | None
    p_value: float | None
    test: str
    holm_p: float | None = None
    verdict: str = "not distinguishable"

    def to_dict(self) -> dict:
        return asdict(self)


def bootstrap_p(differences: np.ndarray) -> float | None:
    """Two-sided p of "no difference" from (resamples,) paired bootstrap differences: twice
    the smaller share, counted with its +1, of resamples at or beyond zero on either side."""
    finite = differences[np.isfinite(differences)]
    if not finite.size:
        return None
    far_side = min(int((finite <= 0).sum()), int((finite >= 0).sum()))
    return min(1.0, 2 * (far_side + 1) / (finite.size + 1))


def mcnemar_exact(variant_correct: np.ndarray, reference_correct: np.ndarray) -> float:
    """Two-sided exact McNemar p of two classifiers' (tracks,) right/wrong on the same
    tracks: under "equally accurate", each of the n tracks exactly one of them gets right
    is the variant's with probability 1/2, so p = 2 P(Binomial(n, 1/2) <= the smaller
    count), at most 1 (1 when they never disagree)."""
    variant_only = int((variant_correct & ~reference_correct).sum())
    reference_only = int((reference_correct & ~variant_correct).sum())
    disagree = variant_only + reference_only
    tail = sum(math.comb(disagree, k) for k in range(min(variant_only, reference_only) + 1))
    return min(1.0, 2 * tail / 2 ** disagree)


def holm(p_values: list[float | None]) -> list[float | None]:
    """Holm's step-down adjusted p-values, in the order given (``None`` stays ``None`` and
    does not count as a test): the i-th smallest of m is multiplied by m − i + 1, then made
    non-decreasing in that order and capped at 1."""
    tested = [(p, i) for i, p in enumerate(p_values) if p is not None]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(tested)):
        running = max(running, min(1.0, (len(tested) - rank) * p))
        adjusted[i] = running
    return adjusted


def verdict(metric: str, difference: float | None, adjusted_p: float | None,
            alpha: float = ALPHA) -> str:
    """"better" / "worse" when the adjusted p is below ``alpha`` (the sign of the difference
    says which; for log loss lower is better), else "not distinguishable"."""
    if difference is None or adjusted_p is None or adjusted_p >= alpha or difference == 0:
        return "not distinguishable"
    improves = difference < 0 if metric in LOWER_IS_BETTER else difference > 0
    return "better" if improves else "worse"


def compare(name: str, variant: list[TrackOutputs], reference_name: str,
            reference: list[TrackOutputs], bootstrap: Bootstrap,
            samples: dict[str, dict[str, np.ndarray]] | None = None) -> list[Comparison]:
    """Each headline metric of the row ``variant`` (its seeds) against ``reference``, on the
    same tracks (both aligned to the reference's first seed) and the same resamples.

    ``samples`` caches each row's resampled scores by row name, so a table draws every row
    once. Holm is not applied here (:func:`compare_rows` does, over a table).
    """
    order = reference[0].track_ids
    variant, reference = aligned_rows(variant, order), aligned_rows(reference, order)
    if not np.array_equal(variant[0].labels, reference[0].labels):
        raise ValueError(f"{name} and {reference_name} label the same tracks differently")
    samples = {} if samples is None else samples
    counts = bootstrap.counts(len(order))  # the same draws for every row of the table
    for row_name, seeds in ((name, variant), (reference_name, reference)):
        if row_name not in samples:
            samples[row_name] = row_resamples(seeds, counts)
    points = row_point(variant), row_point(reference)
    comparisons = []
    for metric in samples[reference_name]:
        if metric not in samples[name] or None in (points[0][metric], points[1][metric]):
            continue
        differences = samples[name][metric] - samples[reference_name][metric]
        low, high = bootstrap.bounds(differences)
        p_value, test = bootstrap_p(differences), "paired bootstrap"
        if metric == "accuracy" and len(variant) == len(reference) == 1:
            p_value, test = mcnemar_exact(variant[0].correct, reference[0].correct), "McNemar"
        comparisons.append(Comparison(name, reference_name, metric,
                                      points[0][metric] - points[1][metric], low, high,
                                      p_value, test))
    return comparisons


def compare_rows(rows: dict[str, list[TrackOutputs]], reference: str,
                 bootstrap: Bootstrap | None = None,
                 samples: dict[str, dict[str, np.ndarray]] | None = None) -> list[Comparison]:
    """Every other row of a table against ``reference``, Holm-adjusted over the rows of each
    metric, verdicts from the adjusted p. Rows are resampled with one set of draws; given a
    dict, ``samples`` receives each row's (resamples,) scores per metric, so the caller can
    take the rows' own intervals from the same draws."""
    bootstrap = bootstrap or Bootstrap()
    samples = {} if samples is None else samples
    comparisons = [comparison for name, seeds in rows.items() if name != reference
                   for comparison in compare(name, seeds, reference, rows[reference],
                                             bootstrap, samples)]
    for metric in dict.fromkeys(c.metric for c in comparisons):
        family = [c for c in comparisons if c.metric == metric]
        for comparison, adjusted in zip(family, holm([c.p_value for c in family]),
                                        strict=True):
            comparison.holm_p = adjusted
            comparison.verdict = verdict(metric, comparison.difference, adjusted)
    return comparisons
