"""The FMA paper's feature route on a recipe's own splits (``waveform-mir baseline``).

The hand-made baseline answers "what does learning from the waveform buy?" only if it sees
exactly the end-to-end models' data and metric. So it reads the recipe's ``data`` section
through :func:`~waveform_mir.data.prepare_dataset`, describes every chunk with
:mod:`.features` (or every track by a trained model's embedding, :mod:`.embeddings`: the
transfer-learning probe of small-data tagging), selects each classifier's setting on
validation, refits on train + validation and scores test tracks with the package's metric.
:func:`run_baseline` is the entry point for callers (the ablation harness and
``waveform-mir baseline``).

Outputs in ``out_dir``: ``baseline_results.json`` (every classifier: chosen params, grid,
fit time, full test scores with 95 % intervals over the test tracks), ``recipe.yaml``,
``test_tracks_<classifier>.npz`` (each classifier's per-track test outputs, which ``ablate``
compares with the models on the same tracks), and ``metrics_test.json`` /
``confusion_test.png`` for the classifier that did best on validation.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import datasets
from rich.console import Console
from rich.table import Table

from waveform_mir.config import DataConfig, Recipe
from waveform_mir.data import PreparedData, prepare_dataset, select_task, with_fold
from waveform_mir.data.cache import default_cache_root
from waveform_mir.evaluation.selection import SELECTION_RULE, best_of, rule_for
from waveform_mir.evaluation.uncertainty import Bootstrap, interval_text, with_intervals
from waveform_mir.reports.metrics import report

from .classifiers import CLASSIFIERS, resolve
from .embeddings import embedding_features
from .extract import SplitFeatures, regrouped, split_features
from .features import feature_names
from .selection import REFIT_ON, headline, select_and_test

FEATURE_CHUNK_SECONDS = 2.5
RESULTS_FILE = "baseline_results.json"


def default_output_dir(recipe: Recipe) -> Path:
    """Beside the recipe's model run, so a run folder holds both routes' numbers."""
    return Path(recipe.train.output_dir) / "baseline"


def run_baseline(
    recipe: Recipe,
    classifiers: list[str] | None = None,
    out_dir: str | Path | None = None,
    *,
    chunk_seconds: float = FEATURE_CHUNK_SECONDS,
    embeddings_from: str | Path | None = None,
    n_jobs: int = -1,
    progress: bool = True,
    console: Console | None = None,
    bootstrap: Bootstrap | None = None,
) -> dict[str, Any]:
    """Run the feature baseline on ``recipe``'s data; write and return the results.

    Args:
        recipe: only ``recipe.data`` (and ``name`` / ``train.output_dir`` for labels and the
            default folder) is used.
        classifiers: names from :data:`~.classifiers.CLASSIFIERS`; ``None`` runs all.
        out_dir: output folder; default :func:`default_output_dir`.
        chunk_seconds: length of the chunks features summarise; tracks are split into
            non-overlapping chunks and their probabilities averaged.
        embeddings_from: a trained model (folder or Hub id) whose track embeddings replace
            the hand-made features (:mod:`.embeddings`, a linear probe for ``lr``).
        n_jobs: joblib workers for feature extraction (-1: all cores).
        bootstrap: how the test scores' intervals are drawn (default 1000 resamples).

    Returns:
        The content of ``baseline_results.json``: ``classifiers`` maps each name to
        ``params``, ``grid``, ``fit_seconds``, ``validation`` (headline scores), ``test``
        (the full :func:`~waveform_mir.evaluation.metrics.classification_scores` dict, with
        ``intervals``) and ``tracks_file`` (its per-track test outputs, relative to
        ``out_dir``); ``best`` names the classifier with the best validation score.
    """
    names = resolve(classifiers)
    console = console or Console()
    out = Path(out_dir) if out_dir is not None else default_output_dir(recipe)
    start = time.perf_counter()
    prepared, splits, described_by = described_data(recipe, chunk_seconds, embeddings_from,
                                                    n_jobs, progress)
    feature_seconds = time.perf_counter() - start

    outcomes = {}
    for name in names:
        console.print(f"[bold]{name}[/bold]: {CLASSIFIERS[name].description}")
        outcomes[name] = select_and_test(name, splits, prepared.label_names)
        outcomes[name].test = with_intervals(outcomes[name].test, [outcomes[name].test_tracks],
                                             bootstrap)
    best = next(r for r in outcomes.values()
                if r.validation is best_of(r.validation for r in outcomes.values()))
    results = {
        "recipe": recipe.name,
        "data": {"source": recipe.data.source, "options": recipe.data.options,
                 "sample_rate": recipe.data.sample_rate},
        **described_by,  # chunk length and column names, or the model embedding the tracks
        "num_features": int(splits["train"].features.shape[1]),
        "tracks": {split: s.num_tracks for split, s in splits.items()},
        "chunks": {split: int(s.features.shape[0]) for split, s in splits.items()},
        "feature_seconds": round(feature_seconds, 2),
        "selection": SELECTION_RULE,
        "refit_on": REFIT_ON,
        "best": best.name,
        "classifiers": {name: {**result.to_dict(), "tracks_file": tracks_file(name)}
                        for name, result in outcomes.items()},
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, result in outcomes.items():
        result.test_tracks.save(out / tracks_file(name))
    (out / RESULTS_FILE).write_text(json.dumps(results, indent=2))
    recipe.save(out / "recipe.yaml")
    console.print(results_table(results))
    report(best.test, out, "test", console)
    return results


def described_data(recipe: Recipe, chunk_seconds: float, embeddings_from: str | Path | None,
                   n_jobs: int, progress: bool
                   ) -> tuple[PreparedData, dict[str, SplitFeatures], dict[str, Any]]:
    """The task's data, its splits' feature vectors and what describes them. With
    ``data.fold`` the features are those of the source's own splits (cached as always),
    regrouped into the fold's, so each track is described once for every fold."""
    decoded = prepare_dataset(recipe.data, progress=progress)
    if decoded.stream is not None:
        raise ValueError("the feature baseline needs a cached dataset; streamed data is not "
                         "supported (set the source's streaming option off)")
    prepared = select_task(decoded, recipe.data)
    splits, described_by = describe_tracks(prepared.dataset, recipe.data, chunk_seconds,
                                           embeddings_from, n_jobs, progress)
    if recipe.data.fold is None:
        return prepared, splits, described_by
    folded = select_task(with_fold(decoded, recipe.data.fold), recipe.data)
    return folded, regrouped(splits, folded.dataset), {**described_by, "fold": recipe.data.fold}


def tracks_file(classifier: str) -> str:
    """The name of a classifier's per-track test outputs in the baseline's folder."""
    return f"test_tracks_{classifier}.npz"


def describe_tracks(dataset: datasets.DatasetDict, config: DataConfig, chunk_seconds: float,
                    embeddings_from: str | Path | None, n_jobs: int, progress: bool
                    ) -> tuple[dict[str, SplitFeatures], dict[str, Any]]:
    """Every split's feature vectors (hand-made per chunk, or a model's per track), from the
    cache when current, and what describes them in the results (chunk length and column
    names, or the model)."""
    cache_root = (Path(config.cache_dir).expanduser() if config.cache_dir
                  else default_cache_root())
    if embeddings_from is None:
        splits = split_features(dataset, config, chunk_seconds, cache_root, n_jobs, progress)
        return splits, {"chunk_seconds": chunk_seconds, "features": feature_names()}
    splits = embedding_features(dataset, config, embeddings_from, cache_root, progress)
    return splits, {"embeddings_from": str(embeddings_from)}


def results_table(results: dict[str, Any]) -> Table:
    """One row per classifier: chosen params, the validation score it was chosen by, the
    test headline (accuracy, macro-F1, log loss; or ROC-AUC, PR-AUC for tags), fit time."""
    described_by = (f"{results['chunk_seconds']} s chunks" if "chunk_seconds" in results
                     else f"track embeddings of {results['embeddings_from']}")
    table = Table(title=f"feature baseline on '{results['recipe']}' (test tracks, "
                        f"{described_by})")
    first = next(iter(results["classifiers"].values()))
    chosen_by = rule_for(first["validation"])[0][0]
    shown = list(headline(first["test"]))
    columns = ["classifier", "params", f"val {chosen_by}", *shown, "fit s"]
    for column in columns:
        table.add_column(column.replace("_", " "),
                         justify="left" if column in ("classifier", "params") else "right")
    for name, row in results["classifiers"].items():
        params = ", ".join(f"{k}={v}" for k, v in row["params"].items())
        marker = " *" if name == results["best"] else ""
        chosen = row["validation"][chosen_by]
        table.add_row(name + marker, params, "–" if chosen is None else f"{chosen:.3f}",
                      *(interval_text(row["test"], key, separator="\n") for key in shown),
                      f"{row['fit_seconds']:.1f}")
    table.caption = (f"* best on validation · settings chosen by {results['selection']} · "
                     f"refit on {results['refit_on']} · [95 % bootstrap interval over the "
                     f"test tracks]")
    return table
