"""The one rule for "the better model", shared by training, baselines and ablations.

A checkpoint, a baseline setting and an ablation row are all chosen by it, so their numbers
can stand side by side in one table. For one genre per track: the highest validation
macro-F1 (accuracy alone rewards a model that ignores rare genres), ties — frequent on a few
dozen validation tracks — broken by the lower validation log loss. For tags: the highest
validation macro PR-AUC (ROC-AUC flatters rare tags), ties broken by macro ROC-AUC. Among
exact ties the earlier candidate wins (the shorter training, the first setting of a grid).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from .metrics import HEADLINE_METRICS
from .tagging_metrics import HEADLINE_TAGGING_METRICS

# Per task: (score, +1 if larger is better else -1), most important first.
RULES: dict[str, tuple[tuple[str, float], ...]] = {
    "single_label": (("macro_f1", 1.0), ("log_loss", -1.0)),
    "multi_label": (("macro_pr_auc", 1.0), ("macro_roc_auc", 1.0)),
}
# The scores a run logs, keeps in its history and shows in tables, per task.
HEADLINES: dict[str, tuple[str, ...]] = {
    "single_label": HEADLINE_METRICS,
    "multi_label": HEADLINE_TAGGING_METRICS,
}
SELECTION_RULE = ("highest validation macro-F1, ties broken by lower validation log loss "
                  "(tags: macro PR-AUC, then macro ROC-AUC), then the earlier candidate")


def rule_for(scores: dict[str, Any], prefix: str = "") -> tuple[tuple[str, float], ...]:
    """The rule of the task ``scores`` come from (tagging scores carry ``macro_pr_auc``)."""
    return RULES["multi_label" if f"{prefix}macro_pr_auc" in scores else "single_label"]


def selection_key(scores: dict[str, Any], prefix: str = "") -> tuple[float, ...]:
    """Sort key of a scores dict (``prefix="val_"`` for history rows): larger is better; a
    missing or undefined score ranks last."""
    key = []
    for name, sign in rule_for(scores, prefix):
        value = scores.get(f"{prefix}{name}")
        key.append(-math.inf if value is None else sign * value)
    return tuple(key)


def is_better(candidate: dict[str, Any], incumbent: dict[str, Any] | None,
              prefix: str = "") -> bool:
    """Whether ``candidate`` beats ``incumbent`` (``None``: nothing chosen yet)."""
    return incumbent is None or selection_key(candidate, prefix) > selection_key(incumbent,
                                                                                 prefix)


def best_of(candidates: Iterable[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    """The first best candidate by :data:`SELECTION_RULE` among those that carry the main
    score (``{}`` when there is none)."""
    best = None
    for candidate in candidates:
        main_score = f"{prefix}{rule_for(candidate, prefix)[0][0]}"
        if candidate.get(main_score) is not None and is_better(candidate, best, prefix):
            best = candidate
    return best or {}
