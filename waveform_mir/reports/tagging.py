"""What a tagging evaluation leaves behind: per-tag ROC-AUC / PR-AUC bars and a rich table.

Macro averages hide which tags a model has learnt; a researcher wants to see that "calm"
is easy and "nervous" is noise, so every tag gets a row and a pair of bars.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from rich.table import Table  # noqa: E402

from waveform_mir.evaluation.uncertainty import interval_note, interval_text  # noqa: E402


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def plot_tag_scores(scores: dict, path: Path, title: str) -> Path:
    """ROC-AUC and average precision per tag, tags sorted by average precision."""
    per_tag = scores["per_tag"]
    names = sorted(per_tag, key=lambda n: -(per_tag[n]["average_precision"] or 0.0))
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.3 * len(names) + 2), 4))
    for offset, key, label in ((-0.2, "roc_auc", "ROC-AUC"), (0.2, "average_precision",
                                                               "PR-AUC (AP)")):
        ax.bar(x + offset, [per_tag[n][key] or 0.0 for n in names], 0.4, label=label)
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set(ylim=(0, 1), title=f"{title} (macro ROC-AUC {_fmt(scores['macro_roc_auc'])}, "
                              f"PR-AUC {_fmt(scores['macro_pr_auc'])})")
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def per_tag_table(scores: dict, title: str) -> Table:
    """One row per tag: positives, ROC-AUC, AP and, when thresholds were applied, F1."""
    table = Table(title=title)
    columns = ("tag", "positives", "ROC-AUC", "PR-AUC", "F1")
    for column in columns:
        table.add_column(column, justify="left" if column == "tag" else "right")
    for name, row in scores["per_tag"].items():
        table.add_row(name, str(row["positives"]), _fmt(row["roc_auc"]),
                      _fmt(row["average_precision"]), _fmt(row.get("f1")))
    table.caption = (f"macro ROC-AUC {interval_text(scores, 'macro_roc_auc')} · macro PR-AUC "
                     f"{interval_text(scores, 'macro_pr_auc')} · macro F1 "
                     f"{interval_text(scores, 'macro_f1')} · {scores['num_examples']} tracks"
                     f"{interval_note(scores)}")
    return table


def tagging_card_lines(scores: dict) -> list[str]:
    """The model card's test-score section for a tagger."""
    return ["## Test scores (track level)", "",
            "| macro ROC-AUC | macro PR-AUC | micro PR-AUC | macro F1 | tracks |",
            "|---|---|---|---|---|",
            f"| {_fmt(scores['macro_roc_auc'])} | {_fmt(scores['macro_pr_auc'])} | "
            f"{_fmt(scores['micro_pr_auc'])} | {_fmt(scores.get('macro_f1'))} | "
            f"{scores['num_examples']} |", "",
            f"Tags: {', '.join(scores['tag_names'])}", ""]
