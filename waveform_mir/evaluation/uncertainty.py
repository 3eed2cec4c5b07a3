"""95 % intervals over test tracks for the headline scores of a model or of a row of seeds.

A test set of a hundred tracks is a sample: another hundred from the same music would score
differently, by about ±5 accuracy points. What an interval must show is that spread, so the
bootstrap resamples *tracks* (each row of :class:`~.track_outputs.TrackOutputs` is one track,
its chunk scores already averaged), never chunks: chunks of one track share its genre, its
recording and its mistakes, and resampling them as if independent would give intervals
√(chunks per track) times too narrow. The interval is the percentile one (the 2.5th and
97.5th percentile of the score over :attr:`Bootstrap.resamples` resamples, a fixed ``seed``
so a report is reproducible): it needs no normal approximation, so it stays inside [0, 1]
and follows the skew of log loss and of AUCs near 1. Every resample is scored by exactly
the package's metric (:mod:`.resampled`): macro averages over the classes, or the tags,
present in that resample, as the full-sample metric averages over those present in the
split.

Several seeds of one row (the table reports their mean) are resampled *jointly*: one draw of
tracks per resample, the same for every seed, each seed scored on it, the seeds' scores
averaged. This is the interval of the row's mean score over test sets, with these trained
models. Seeds are not resampled (no hierarchical bootstrap): with the one to three seeds a
row has, a bootstrap over seeds has at most ten distinct draws and understates their
variance by a third, so the seed-to-seed spread stays where it is measured, the ``± std``
the tables print beside the interval. Drawing the same tracks for every seed (and for every
row of a table, :mod:`.paired`) is also what makes comparisons paired.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .metrics import HEADLINE_METRICS
from .resampled import classification_resamples, resample_counts, tagging_resamples
from .tagging_metrics import HEADLINE_TAGGING_METRICS
from .track_outputs import TrackOutputs, aligned_rows

LOWER_IS_BETTER = frozenset({"log_loss"})
Interval = tuple[float | None, float | None]


@dataclass(frozen=True)
class Bootstrap:
    """How intervals are drawn: ``resamples`` percentile-bootstrap draws of the tracks from
    ``seed``, central ``level`` intervals."""

    resamples: int = 1000
    seed: int = 0
    level: float = 0.95

    def counts(self, num_tracks: int) -> np.ndarray:
        """(resamples, num_tracks) multiplicities of the draws, the same for every caller
        with the same settings and track count (which pairs rows scored on one test set)."""
        return resample_counts(num_tracks, self.resamples, self.seed)

    def bounds(self, samples: np.ndarray) -> Interval:
        """Percentile interval of (resamples,) scores; resamples scoring NaN (no tag could
        be ranked) are skipped, ``(None, None)`` when every one is."""
        finite = samples[np.isfinite(samples)]
        if not finite.size:
            return None, None
        tail = (1 - self.level) / 2
        low, high = np.quantile(finite, [tail, 1 - tail])
        return float(low), float(high)

    def describe(self, num_tracks: int) -> dict:
        """What a results file says about its intervals."""
        return {"method": "percentile bootstrap over test tracks", "level": self.level,
                "resamples": self.resamples, "seed": self.seed, "tracks": num_tracks}


def interval_metrics(outputs: TrackOutputs) -> tuple[str, ...]:
    """The headline scores intervals are given for: accuracy, macro-F1 and log loss, or
    macro ROC-AUC, PR-AUC and (where thresholds were applied) macro-F1."""
    if not outputs.is_tagging:
        return HEADLINE_METRICS
    if outputs.thresholds is None:
        return tuple(m for m in HEADLINE_TAGGING_METRICS if m != "macro_f1")
    return HEADLINE_TAGGING_METRICS


def resampled_scores(outputs: TrackOutputs, counts: np.ndarray) -> dict[str, np.ndarray]:
    """(resamples,) score of every metric of :func:`interval_metrics` for one model."""
    if outputs.is_tagging:
        return tagging_resamples(outputs.probabilities, outputs.labels, counts,
                                 outputs.thresholds)
    return classification_resamples(outputs.probabilities, outputs.labels, counts)


def row_resamples(seeds: list[TrackOutputs], counts: np.ndarray) -> dict[str, np.ndarray]:
    """(resamples,) mean over ``seeds`` (already aligned to one track order) of each score,
    every seed scored on the same resampled tracks."""
    per_seed = [resampled_scores(outputs, counts) for outputs in seeds]
    return {metric: np.mean([scores[metric] for scores in per_seed], axis=0)
            for metric in per_seed[0]}


def row_point(seeds: list[TrackOutputs]) -> dict[str, float | None]:
    """The row's point estimate: the mean over seeds of the package's full-sample metric
    (the number a table prints), ``None`` where a seed's score is undefined."""
    per_seed = [outputs.scores() for outputs in seeds]
    point = {}
    for metric in interval_metrics(seeds[0]):
        values = [scores[metric] for scores in per_seed]
        point[metric] = None if None in values else float(np.mean(values))
    return point


def row_intervals(seeds: list[TrackOutputs], bootstrap: Bootstrap | None = None
                  ) -> dict[str, Interval]:
    """The interval of each headline score of a row (one model, or the mean of its seeds),
    tracks resampled jointly across seeds."""
    bootstrap = bootstrap or Bootstrap()
    seeds = aligned_rows(seeds)
    samples = row_resamples(seeds, bootstrap.counts(len(seeds[0].track_ids)))
    return {metric: bootstrap.bounds(values) for metric, values in samples.items()}


def interval_lists(seeds: list[TrackOutputs], bootstrap: Bootstrap | None = None
                   ) -> dict[str, list[float | None]]:
    """:func:`row_intervals` as JSON: {metric: [low, high]}."""
    return {metric: list(bounds) for metric, bounds in row_intervals(seeds, bootstrap).items()}


def with_intervals(scores: dict, seeds: list[TrackOutputs],
                   bootstrap: Bootstrap | None = None) -> dict:
    """``scores`` (a metric dict of these outputs, or of their average) with
    ``intervals`` ({metric: [low, high]}) and ``bootstrap`` (how they were drawn) added."""
    bootstrap = bootstrap or Bootstrap()
    return {**scores, "intervals": interval_lists(seeds, bootstrap),
            "bootstrap": bootstrap.describe(len(seeds[0].track_ids))}


def interval_text(scores: dict, metric: str, digits: int = 3, separator: str = " ") -> str:
    """``"0.713 [0.620, 0.800]"`` for a metric of ``scores`` (``separator`` between score
    and interval: a newline keeps a narrow table cell whole), the bare score where no
    interval was drawn, ``"–"`` where the score is undefined."""
    value = scores.get(metric)
    if value is None:
        return "–"
    low, high = scores.get("intervals", {}).get(metric, (None, None))
    if low is None:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f}{separator}[{low:.{digits}f}, {high:.{digits}f}]"


def interval_note(scores: dict) -> str:
    """What the brackets of :func:`interval_text` are, for a caption ("" without any)."""
    drawn = scores.get("bootstrap")
    if not drawn:
        return ""
    return (f" · [{drawn['level']:.0%} bootstrap interval over the {drawn['tracks']} "
            f"tracks, {drawn['resamples']} resamples]")
