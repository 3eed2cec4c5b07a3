"""Cross-validation: one run per fold, every track's test outputs pooled into one score.

``train --folds K``, ``baseline --folds K`` and ``ablate --folds K`` all go through here: a
recipe becomes K recipes (:func:`fold_recipe`, ``data.fold`` set and a ``fold<i>`` output
folder each; the folds of :mod:`waveform_mir.data.folds`), each is run as usual, and the K
test sets, which together hold every track of the dataset once, are pooled
(:func:`pool_folds`) into one set of per-track outputs. The pooled scores and their intervals
are over all tracks (673 moodgenre clips rather than 134), which is what narrows them.

Each fold's model is scored by its own calibration (temperature or per-tag thresholds fitted
on its fold's validation). Probabilities pool directly; a tagger's per-tag thresholds differ
between folds, so pooled tagger outputs carry none and report ranking scores (ROC-AUC,
PR-AUC), not F1.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
from accelerate import PartialState

from waveform_mir.config import Recipe
from waveform_mir.evaluation.track_outputs import TrackOutputs
from waveform_mir.evaluation.uncertainty import (
    Bootstrap,
    interval_note,
    interval_text,
    with_intervals,
)

POOLED_FILE = "folds_metrics.json"


def fold_recipe(recipe: Recipe, count: int, index: int, seed: int = 0,
                output_dir: Path | None = None) -> Recipe:
    """``recipe`` on fold ``index`` of ``count``, its outputs in ``output_dir`` (default the
    recipe's own) ``/fold<index>``."""
    fold = {"count": count, "index": index, "seed": seed}
    data = dataclasses.replace(recipe.data, fold=fold)
    base = Path(output_dir or recipe.train.output_dir)
    train = dataclasses.replace(recipe.train, output_dir=str(base / f"fold{index}"))
    return dataclasses.replace(recipe, name=f"{recipe.name}/fold{index}", data=data,
                               train=train)


def pool_folds(folds: list[TrackOutputs]) -> TrackOutputs:
    """The test outputs of every fold as one set over all their tracks (see the module for
    why a tagger's thresholds are not kept); a track in two folds is refused."""
    return TrackOutputs(np.concatenate([f.track_ids for f in folds]),
                        np.concatenate([f.probabilities for f in folds]),
                        np.concatenate([f.labels for f in folds]))


def pooled_scores(folds: list[TrackOutputs], bootstrap: Bootstrap | None = None
                  ) -> tuple[dict, TrackOutputs]:
    """Scores of the pooled outputs with their intervals over all tracks, and the outputs."""
    pooled = pool_folds(folds)
    return with_intervals(pooled.scores(), [pooled], bootstrap), pooled


def cross_validate(recipe: Recipe, count: int, run_fold: Callable[[Recipe], dict[str, Path]],
                   output_dir: Path | None = None, seed: int = 0,
                   bootstrap: Bootstrap | None = None) -> dict[str, dict]:
    """Run ``run_fold`` on every fold and pool what it returns: a path of per-track test
    outputs per row (``{"model": ...}`` for a training run, one per classifier for the
    baseline). Writes each row's pooled outputs (``test_tracks_<row>.npz``) and all pooled
    scores (``folds_metrics.json``) into ``output_dir`` (default the recipe's output folder)
    and returns ``{row: scores}``."""
    out = Path(output_dir or recipe.train.output_dir)
    runs = [run_fold(fold_recipe(recipe, count, index, seed, out)) for index in range(count)]
    rows = {}
    for row in runs[0]:
        scores, pooled = pooled_scores([TrackOutputs.load(run[row]) for run in runs], bootstrap)
        pooled.save(out / f"test_tracks_{row}.npz")
        rows[row] = scores
    if not PartialState().is_main_process:  # every process pooled; one writes
        return rows
    summary = {"folds": count, "fold_seed": seed, "tracks": len(pooled.track_ids),
               "fold_outputs": [{row: str(path) for row, path in run.items()} for run in runs],
               "test": rows}
    (out / POOLED_FILE).write_text(json.dumps(summary, indent=2, default=_plain))
    return rows


def _plain(value):
    """JSON for numpy values inside score dicts."""
    return value.tolist() if hasattr(value, "tolist") else str(value)


def pooled_summary(rows: dict[str, dict], count: int) -> str:
    """One line per row: its pooled headline scores with their intervals."""
    lines = []
    for row, scores in rows.items():
        shown = " · ".join(f"{metric.replace('_', ' ')} {interval_text(scores, metric)}"
                           for metric in scores.get("intervals", {}))
        lines.append(f"{row}, {count} folds pooled: {shown}{interval_note(scores)}")
    return "\n".join(lines)
