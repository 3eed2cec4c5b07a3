"""What a finished evaluation leaves behind: metrics JSON, a confusion-matrix plot, a rich
per-class table and a model card, so that a person can look instead of read."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from waveform_mir.evaluation.tagging_metrics import is_tagging  # noqa: E402
from waveform_mir.evaluation.uncertainty import interval_note, interval_text  # noqa: E402
from waveform_mir.reports.tagging import (  # noqa: E402
    per_tag_table,
    plot_tag_scores,
    tagging_card_lines,
)


def write_metrics(scores: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(scores, indent=2))
    return path


def plot_confusion(scores: dict, path: Path, title: str = "Confusion matrix") -> Path:
    """Row-normalised confusion matrix with counts, true class on the y axis."""
    confusion = np.asarray(scores["confusion_matrix"], dtype=float)
    names = scores["label_names"]
    normalised = confusion / confusion.sum(axis=1, keepdims=True).clip(min=1)
    size = max(4.0, 0.55 * len(names) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(names)), names, rotation=45, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (row, col), count in np.ndenumerate(confusion):
        if count:
            ax.text(col, row, int(count), ha="center", va="center",
                    color="white" if normalised[row, col] > 0.5 else "black", fontsize=8)
    ax.set_title(f"{title} (accuracy {scores['accuracy']:.1%})")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def per_class_table(scores: dict, title: str) -> Table:
    table = Table(title=title)
    for column in ("genre", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="left" if column == "genre" else "right")
    for name, row in scores["per_class"].items():
        table.add_row(name, f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      f"{row['f1']:.3f}", str(row["support"]))
    table.caption = (f"accuracy {interval_text(scores, 'accuracy')} · macro-F1 "
                     f"{interval_text(scores, 'macro_f1')} · log loss "
                     f"{interval_text(scores, 'log_loss')} · {scores['num_examples']} tracks"
                     f"{interval_note(scores)}")
    return table


def report(scores: dict, output_dir: Path, split: str, console: Console | None = None
           ) -> dict[str, Path]:
    """Write ``metrics_<split>.json`` and a plot — ``confusion_<split>.png`` for classes,
    ``tags_<split>.png`` (per-tag scores) for tags — and print the per-class or per-tag
    table. Returns the paths as ``metrics`` and ``plot``."""
    title = f"{split} split, track level"
    if is_tagging(scores):
        plot = plot_tag_scores(scores, output_dir / f"tags_{split}.png", f"{split} tags")
        table = per_tag_table(scores, title)
    else:
        plot = plot_confusion(scores, output_dir / f"confusion_{split}.png",
                              title=f"{split} confusion")
        table = per_class_table(scores, title)
    (console or Console()).print(table)
    return {"metrics": write_metrics(scores, output_dir / f"metrics_{split}.json"),
            "plot": plot}


def write_model_card(model_dir: Path, recipe: dict, scores: dict | None) -> Path:
    """A Hub-style README.md for a saved model: what it is, its recipe, its test scores."""
    labels = ", ".join(scores.get("label_names", [])) if scores else ""
    lines = [
        "---", "library_name: waveform-mir", "tags:", "- audio-classification",
        "- music-genre-classification", "- waveform-mir", "---", "",
        f"# {recipe.get('name', 'waveform-mir model')}", "",
        "A music genre classifier or tagger that reads raw waveforms, trained with "
        "[waveform-mir](https://github.com/waveform-mir/waveform-mir).", "",
        "```python", "from waveform_mir.predict import predict_file",
        "print(predict_file(\"<this folder or hub id>\", \"song.mp3\"))", "```", "",
    ]
    if scores and is_tagging(scores):
        lines += tagging_card_lines(scores)
    elif scores:
        lines += ["## Test scores (track level)", "",
                  "| accuracy | macro-F1 | log loss | tracks |", "|---|---|---|---|",
                  f"| {scores['accuracy']:.3f} | {scores['macro_f1']:.3f} | "
                  f"{scores['log_loss']:.3f} | {scores['num_examples']} |", "",
                  f"Genres: {labels}", ""]
    lines += ["## Recipe", "", "```yaml", yaml.safe_dump(recipe, sort_keys=False).strip(), "```",
              ""]
    path = model_dir / "README.md"
    path.write_text("\n".join(lines))
    return path
