"""An ablation's results as files a person reads: CSV/JSON rows, a Markdown table of
mean ± std over seeds (best in bold), and plots — bars with error bars, validation curves
per front-end, and the learned filters of each learnable front-end."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from waveform_mir.evaluation.metrics import HEADLINE_METRICS  # noqa: E402
from waveform_mir.reports.filters import load_filters, plot_filter_axes, relative_change  # noqa: E402

SCORES = HEADLINE_METRICS
VALIDATION = ("val_accuracy", "val_macro_f1")  # where settings are chosen; test only reports
LOWER_IS_BETTER = {"log_loss"}
CSV_COLUMNS = ("variant", "seed", "frontend", "backbone", *SCORES, *VALIDATION, "val_log_loss",
               "params_frontend",
               "params_backbone", "params_head", "params_total", "temperature", "train_seconds",
               "clips_per_second", "filter_change", "centre_shift_octaves")


def summarise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per variant: mean and std of every score over its seeds, in grid order."""
    variants = list(dict.fromkeys(row["variant"] for row in rows))
    summary = []
    for variant in variants:
        cells = [row for row in rows if row["variant"] == variant]
        entry = {"variant": variant, "frontend": cells[0]["frontend"],
                 "backbone": cells[0]["backbone"], "seeds": len(cells),
                 "params_total": cells[0].get("params_total"),
                 "clips_per_second": _mean([c.get("clips_per_second") for c in cells]),
                 "filter_change": _mean([c.get("filter_change") for c in cells]),
                 "centre_shift_octaves": _mean([c.get("centre_shift_octaves") for c in cells])}
        for score in (*SCORES, *VALIDATION):
            values = np.array([c[score] for c in cells if c.get(score) is not None], dtype=float)
            entry[score] = float(values.mean()) if len(values) else None
            entry[f"{score}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
        summary.append(entry)
    return summary


def _mean(values: list) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def markdown_table(summary: list[dict[str, Any]]) -> str:
    """Mean ± std over seeds per variant; the best mean of each score in bold. Validation
    columns come last: they are what settings may be chosen by."""
    best = {}
    for score in (*SCORES, *VALIDATION):
        means = [row[score] for row in summary if row[score] is not None]
        if means:
            best[score] = min(means) if score in LOWER_IS_BETTER else max(means)
    lines = ["| variant | front-end | backbone | seeds | accuracy | macro-F1 | log loss | "
             "params | clips/s | filters moved | val accuracy | val macro-F1 |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in summary:
        cells = []
        for score in (*SCORES, *VALIDATION):
            if row[score] is None:
                cells.append("–")
                continue
            text = f"{row[score]:.3f} ± {row[f'{score}_std']:.3f}"
            cells.append(f"**{text}**" if row[score] == best.get(score) else text)
        params = f"{row['params_total']:,}" if row["params_total"] else "–"
        speed = f"{row['clips_per_second']:.0f}" if row["clips_per_second"] else "–"
        lines.append(f"| {row['variant']} | {row['frontend']} | {row['backbone']} | "
                     f"{row['seeds']} | {' | '.join(cells[:3])} | {params} | {speed} | "
                     f"{_drift_text(row)} | {' | '.join(cells[3:])} |")
    return "\n".join(lines) + "\n"


def _drift_text(row: dict[str, Any]) -> str:
    """``filter_change`` (relative), with the centres' mean shift in octaves where known."""
    if row.get("filter_change") is None:
        return "–"
    text = f"{row['filter_change']:.3f}"
    if row.get("centre_shift_octaves") is not None:
        text += f" ({row['centre_shift_octaves']:.3f} oct)"
    return text


def plot_scores(summary: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Accuracy and macro-F1 per variant as bars with ±1 std error bars."""
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(summary) + 2), 4))
    x = np.arange(len(summary))
    for offset, score in ((-0.2, "accuracy"), (0.2, "macro_f1")):
        means = [row[score] or 0 for row in summary]
        stds = [row[f"{score}_std"] for row in summary]
        ax.bar(x + offset, means, 0.4, yerr=stds, capsize=3, label=score.replace("_", "-"))
    ax.set_xticks(x, [row["variant"] for row in summary], rotation=30, ha="right")
    ax.set(ylim=(0, 1), ylabel="test score (track level)", title=title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_validation_curves(rows: list[dict[str, Any]], path: Path, title: str) -> Path:
    """Validation macro-F1 against step per variant: mean over seeds, shaded ±1 std."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for variant in dict.fromkeys(row["variant"] for row in rows if row.get("history")):
        histories = [row["history"] for row in rows if row["variant"] == variant]
        length = min(len(h) for h in histories)
        steps = [h["step"] for h in histories[0][:length]]
        values = np.array([[h["val_macro_f1"] for h in hist[:length]] for hist in histories])
        mean, std = values.mean(axis=0), values.std(axis=0)
        ax.plot(steps, mean, marker="o", markersize=3, label=variant)
        ax.fill_between(steps, mean - std, mean + std, alpha=0.15)
    ax.set(xlabel="step", ylabel="validation macro-F1", title=title)
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


def write_results(rows: list[dict[str, Any]], output_dir: Path, title: str) -> dict[str, Path]:
    """All result files of an ablation; returns their paths by kind."""
    output_dir.mkdir(parents=True, exist_ok=True)
    summary = summarise(rows)
    paths = {"csv": output_dir / "results.csv", "json": output_dir / "results.json",
             "markdown": output_dir / "results.md"}
    with paths["csv"].open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    paths["json"].write_text(json.dumps({"cells": rows, "summary": summary}, indent=2))
    paths["markdown"].write_text(f"# {title}\n\nTest split, track level, mean ± std over "
                                 "seeds; validation scores are those of the checkpoint chosen "
                                 f"(best validation macro-F1).\n\n{markdown_table(summary)}")
    paths["scores_plot"] = plot_scores(summary, output_dir / "scores.png", title)
    if any(row.get("history") for row in rows):
        paths["curves_plot"] = plot_validation_curves(rows, output_dir / "validation_curves.png",
                                                      title)
    filters = plot_learned_filters(rows, output_dir / "learned_filters.png")
    if filters:
        paths["filters_plot"] = filters
    return paths
