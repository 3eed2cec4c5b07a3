"""The one rule for "the better model", shared by training, baselines and ablations.

A checkpoint, a baseline setting and an ablation row are all chosen by it, so their numbers
can stand side by side in one table: the highest validation macro-F1 (accuracy alone rewards
a model that ignores rare genres), ties — frequent on a few dozen validation tracks — broken
by the lower validation log loss, and among exact ties the earlier candidate (the shorter
training, the first setting of the grid).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SELECTION_RULE = ("highest validation macro-F1, ties broken by lower validation log loss, "
                  "then by the earlier candidate")


def selection_key(scores: dict[str, Any], prefix: str = "") -> tuple[float, float]:
    """Sort key of a scores dict (``prefix="val_"`` for history rows): larger is better."""
    return scores[f"{prefix}macro_f1"], -scores.get(f"{prefix}log_loss", float("inf"))


def is_better(candidate: dict[str, Any], incumbent: dict[str, Any] | None,
              prefix: str = "") -> bool:
    """Whether ``candidate`` beats ``incumbent`` (``None``: nothing chosen yet)."""
    return incumbent is None or selection_key(candidate, prefix) > selection_key(incumbent,
                                                                                 prefix)


def best_of(candidates: Iterable[dict[str, Any]], prefix: str = "") -> dict[str, Any]:
    """The first best candidate by :data:`SELECTION_RULE` (``{}`` when there is none)."""
    best = None
    for candidate in candidates:
        if candidate.get(f"{prefix}macro_f1") is not None and is_better(candidate, best, prefix):
            best = candidate
    return best or {}
