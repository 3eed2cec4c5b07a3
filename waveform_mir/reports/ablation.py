"""An ablation's results as files a person reads: CSV/JSON rows, a Markdown table of
mean ± std over seeds with the 95 % interval over test tracks (best in bold), the paired
comparison of every row with the reference row (:mod:`.comparisons`), and plots — bars with
interval error bars, validation curves per front-end, and the learned filters of each
learnable front-end.

What the table shows depends on the task the grid's recipe learns (:data:`TABLES`): one
genre per track is judged by accuracy, macro-F1 and log loss; tags by macro ROC-AUC, macro
PR-AUC and macro-F1 at thresholds chosen on validation, beside the PR-AUC a ranking that
ignores the audio would get (the tag prior)."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from waveform_mir.evaluation.selection import HEADLINES  # noqa: E402
from waveform_mir.evaluation.uncertainty import Bootstrap, Interval  # noqa: E402
from waveform_mir.reports.comparisons import (  # noqa: E402
    comparisons_markdown,
    table_uncertainty,
)
from waveform_mir.reports.filters import load_filters, plot_filter_axes, relative_change  # noqa: E402


@dataclass(frozen=True)
class TableSpec:
    """The columns of one task's ablation table.

    ``scores`` are the test columns (with their ``titles``), ``validation`` the validation
    columns settings may be chosen by, ``curve`` the validation score plotted against step,
    ``bars`` the two test scores of the bar plot, and ``chosen_by`` the checkpoint rule in
    words."""

    scores: tuple[str, ...]
    titles: tuple[str, ...]
    validation: tuple[str, ...]
    validation_titles: tuple[str, ...]
    curve: str
    bars: tuple[str, str]
    chosen_by: str
    lower_is_better: frozenset[str] = frozenset()


TABLES: dict[str, TableSpec] = {
    "single_label": TableSpec(
        scores=HEADLINES["single_label"], titles=("accuracy", "macro-F1", "log loss"),
        validation=("val_accuracy", "val_macro_f1"),
        validation_titles=("val accuracy", "val macro-F1"), curve="val_macro_f1",
        bars=("accuracy", "macro_f1"), chosen_by="best validation macro-F1",
        lower_is_better=frozenset({"log_loss"})),
    "multi_label": TableSpec(
        scores=HEADLINES["multi_label"], titles=("macro ROC-AUC", "macro PR-AUC", "macro-F1"),
        validation=("val_macro_roc_auc", "val_macro_pr_auc"),
        validation_titles=("val macro ROC-AUC", "val macro PR-AUC"), curve="val_macro_pr_auc",
        bars=("macro_roc_auc", "macro_pr_auc"), chosen_by="best validation macro PR-AUC"),
}
CLASSIFICATION = TABLES["single_label"]
LEADING_COLUMNS = ("variant", "seed", "frontend", "backbone")
TRAILING_COLUMNS = ("params_frontend", "params_backbone", "params_head", "params_total",
                    "temperature", "train_seconds", "clips_per_second", "filter_change",
                    "centre_shift_octaves", "prior_pr_auc")


def csv_columns(spec: TableSpec) -> tuple[str, ...]:
    """Every score of the task on test and on validation, between names and costs."""
    return (*LEADING_COLUMNS, *spec.scores, *(f"val_{score}" for score in spec.scores),
            *TRAILING_COLUMNS)


def summarise(rows: list[dict[str, Any]], spec: TableSpec = CLASSIFICATION,
              intervals: dict[str, dict[str, Interval]] | None = None
              ) -> list[dict[str, Any]]:
    """One row per variant: mean and std of every score over its seeds, in grid order, and
    ``<score>_interval`` ([low, high] over test tracks, ``None`` where the variant has none)
    for the test scores, from ``intervals`` (variant → metric → bounds)."""
    intervals = intervals or {}
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    summary = []
    for variant in variants:
        cells = [row for row in rows if row["variant"] == variant]
        entry = {"variant": variant, "frontend": cells[0]["frontend"],
                 "backbone": cells[0]["backbone"], "seeds": len(cells),
                 "params_total": cells[0].get("params_total"),
                 **{key: mean_of_present([c.get(key) for c in cells])
                    for key in ("clips_per_second", "filter_change", "centre_shift_octaves",
                                "prior_pr_auc")}}
        for score in (*spec.scores, *spec.validation):
            values = np.array([c[score] for c in cells if c.get(score) is not None], dtype=float)
            entry[score] = float(values.mean()) if len(values) else None
            entry[f"{score}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        for score in spec.scores:
            bounds = intervals.get(variant, {}).get(score, (None, None))
            entry[f"{score}_interval"] = None if bounds[0] is None else list(bounds)
        summary.append(entry)
    return summary


def mean_of_present(values: list[float | None]) -> float | None:
    """The mean of the values that exist: a seed or a member without a score (a fixed
    front-end has no filter drift, an undefined AUC) neither counts as 0 nor hides the rest."""
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def markdown_table(summary: list[dict[str, Any]], spec: TableSpec = CLASSIFICATION) -> str:
    """Mean ± std over seeds per variant, then the 95 % interval over test tracks where
    there is one; the best mean of each score in bold. Validation columns come last: they
    are what settings may be chosen by."""
    columns = (*spec.scores, *spec.validation)
    best = {}
    for score in columns:
        means = [row[score] for row in summary if row[score] is not None]
        if means:
            best[score] = min(means) if score in spec.lower_is_better else max(means)
    titles = ("variant", "front-end", "backbone", "seeds", *spec.titles, "params", "clips/s",
              "filters moved", *spec.validation_titles)
    lines = ["| " + " | ".join(titles) + " |", "|" + "---|" * len(titles)]
    for row in summary:
        cells = []
        for score in columns:
            if row[score] is None:
                cells.append("–")
                continue
            text = f"{row[score]:.3f} ± {row[f'{score}_std']:.3f}"
            if row.get(f"{score}_interval"):
                text += " [{:.3f}, {:.3f}]".format(*row[f"{score}_interval"])
            cells.append(f"**{text}**" if row[score] == best.get(score) else text)
        params = f"{row['params_total']:,}" if row["params_total"] else "–"
        speed = f"{row['clips_per_second']:.0f}" if row["clips_per_second"] else "–"
        tests = len(spec.scores)
        lines.append(f"| {row['variant']} | {row['frontend']} | {row['backbone']} | "
                     f"{row['seeds']} | {' | '.join(cells[:tests])} | {params} | {speed} | "
                     f"{_drift_text(row)} | {' | '.join(cells[tests:])} |")
    return "\n".join(lines) + "\n"


def _drift_text(row: dict[str, Any]) -> str:
    """``filter_change`` (relative), with the centres' mean shift in octaves where known."""
    if row.get("filter_change") is None:
        return "–"
    text = f"{row['filter_change']:.3f}"
    if row.get("centre_shift_octaves") is not None:
        text += f" ({row['centre_shift_octaves']:.3f} oct)"
    return text


def plot_scores(summary: list[dict[str, Any]], path: Path, title: str,
                spec: TableSpec = CLASSIFICATION) -> Path:
    """The task's two bar scores (accuracy and macro-F1, or ROC-AUC and PR-AUC) per variant,
    with their 95 % intervals over test tracks as error bars (none where a row has none)."""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(summary) + 2), 4))
    x = np.arange(len(summary))
    for offset, score in zip((-0.2, 0.2), spec.bars, strict=True):
        means = np.array([row[score] or 0 for row in summary])
        bounds = np.array([row[f"{score}_interval"] or (mean, mean)
                           for row, mean in zip(summary, means, strict=True)])
        errors = np.clip(np.stack([means - bounds[:, 0], bounds[:, 1] - means]), 0, None)
        label = spec.titles[spec.scores.index(score)]
        ax.bar(x + offset, means, 0.4, yerr=errors, capsize=3, label=label)
    ax.set_xticks(x, [row["variant"] for row in summary], rotation=30, ha="right")
    ax.set(ylim=(0, 1), ylabel="test score (track level)",
           title=f"{title}\nerror bars: 95 % bootstrap intervals over test tracks")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_validation_curves(rows: list[dict[str, Any]], path: Path, title: str,
                           spec: TableSpec = CLASSIFICATION) -> Path:
    """The validation score checkpoints are chosen by against step, per variant: mean over
    seeds, shaded ±1 std."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for variant in dict.fromkeys(row["variant"] for row in rows if row.get("history")):
        histories = [row["history"] for row in rows if row["variant"] == variant]
        length = min(len(h) for h in histories)
        steps = [h["step"] for h in histories[0][:length]]
        values = np.array([[h[spec.curve] for h in hist[:length]] for hist in histories])
        mean, std = values.mean(axis=0), values.std(axis=0)
        ax.plot(steps, mean, marker="o", markersize=3, label=variant)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.15)
    ax.set(xlabel="step", ylabel=spec.curve.replace("val_", "validation ").replace("_", " "),
           title=title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_learned_filters(rows: list[dict[str, Any]], path: Path) -> Path | None:
    """Centre frequencies / bandwidths (SincNet, LEAF) and kernel change (nnAudio), seed 0
    of each variant that learned filters; None when no variant did."""
    learned = {}
    for row in rows:
        archive = Path(row.get("folder", "")) / "filters.npz"
        if row["variant"] not in learned and archive.is_file():
            learned[row["variant"]] = load_filters(archive)
    if not learned:
        return None
    fig, (ax_centres, ax_bands, ax_change) = plt.subplots(1, 3, figsize=(16, 4.5))
    changes = {}
    for variant, (initial, final) in learned.items():
        if not plot_filter_axes(ax_centres, ax_bands, initial, final, variant):
            changes[variant] = max(relative_change(initial, final).values())
    ax_centres.set(xlabel="filter (sorted)", ylabel="centre frequency (Hz)",
                   title="centre frequencies (dashed: before)")
    ax_bands.set(xlabel="centre frequency (Hz)", ylabel="bandwidth (Hz)", xscale="log",
                 yscale="log", title="bandwidths (grey: before)")
    for ax in (ax_centres, ax_bands):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    ax_change.bar(range(len(changes)), list(changes.values()))
    ax_change.set_xticks(range(len(changes)), list(changes), rotation=30, ha="right")
    ax_change.set(title="kernel change ‖after − before‖ / ‖before‖")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def default_reference(rows: list[dict[str, Any]]) -> str:
    """The row others are compared with when the grid names none: ``mel``, else the first."""
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    return "mel" if "mel" in variants else variants[0]


def write_results(rows: list[dict[str, Any]], output_dir: Path, title: str,
                  task: str = "single_label", reference: str | None = None,
                  bootstrap: Bootstrap | None = None) -> dict[str, Path]:
    """All result files of an ablation of ``task``, rows compared with ``reference``
    (default :func:`default_reference`) as ``bootstrap`` draws; returns the paths by kind."""
    spec = TABLES[task]
    output_dir.mkdir(parents=True, exist_ok=True)
    uncertainty = table_uncertainty(rows, reference or default_reference(rows), bootstrap)
    summary = summarise(rows, spec, uncertainty.intervals)
    paths = {"csv": output_dir / "results.csv", "json": output_dir / "results.json",
             "markdown": output_dir / "results.md"}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=csv_columns(spec), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    paths["json"].write_text(json.dumps({"task": task, "cells": rows, "summary": summary,
                                         **uncertainty.to_dict()}, indent=2))
    seeds = {row["variant"]: row["seeds"] for row in summary}
    titles = dict(zip(spec.scores, spec.titles, strict=True))
    paths["markdown"].write_text(
        f"# {title}\n\nTest split, track level, mean ± std over seeds and in brackets the "
        "95 % bootstrap interval of that mean over the test tracks (tracks resampled, the "
        "same draws for every seed); validation scores are those of the checkpoint chosen "
        f"({spec.chosen_by}).\n\n{markdown_table(summary, spec)}{_prior_text(summary)}"
        f"{comparisons_markdown(uncertainty, titles, seeds)}")
    paths["scores_plot"] = plot_scores(summary, output_dir / "scores.png", title, spec)
    if any(row.get("history") for row in rows):
        paths["curves_plot"] = plot_validation_curves(rows, output_dir / "validation_curves.png",
                                                      title, spec)
    filters = plot_learned_filters(rows, output_dir / "learned_filters.png")
    if filters:
        paths["filters_plot"] = filters
    return paths


def _prior_text(summary: list[dict[str, Any]]) -> str:
    """The tag-prior PR-AUC of the test split, the floor every tagger's PR-AUC starts from."""
    prior = next((row["prior_pr_auc"] for row in summary if row.get("prior_pr_auc")), None)
    if prior is None:
        return ""
    return (f"\nTag prior on test (the macro PR-AUC of a ranking that ignores the audio): "
            f"{prior:.3f}.\n")
