"""Contrastive objectives over a batch of paired views.

Views arrive as ``(2B, dim)`` projections, the first ``B`` the first view of each track and
the last ``B`` the second, so view ``i`` and view ``i + B`` (mod ``2B``) are a positive pair
and the other ``2B - 2`` views of the batch are negatives. NT-Xent (the normalised,
temperature-scaled cross-entropy of SimCLR, Chen et al. 2020, used on raw music by CLMR,
Spijkervet & Burgoyne 2021, and COLA, Saeed et al. 2021) asks each view to pick its partner
out of the batch by cosine similarity:

    loss = mean_i  -log( exp(s(i, p(i)) / t) / sum_{k != i} exp(s(i, k) / t) )

In a run of several processes each process contrasts its own batch: negatives are the
process's own views (the gradient of a gathered batch would need a differentiable all-gather).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor


def partners(count: int, device: torch.device | None = None) -> Tensor:
    """``(2B,)`` index of each view's partner: ``i + B`` for the first half, ``i - B`` after."""
    half = count // 2
    return (torch.arange(count, device=device) + half) % count


def similarities(projections: Tensor) -> Tensor:
    """``(2B, 2B)`` cosine similarities, each view's similarity to itself set to ``-inf`` so
    that it is never its own candidate."""
    unit = F.normalize(projections.float(), dim=-1)
    scores = unit @ unit.T
    return scores.masked_fill(torch.eye(len(unit), dtype=torch.bool, device=unit.device),
                              float("-inf"))


def nt_xent(projections: Tensor, temperature: float = 0.1) -> Tensor:
    """NT-Xent loss of ``(2B, dim)`` paired projections (see the module); a scalar."""
    if projections.shape[0] % 2 or projections.shape[0] < 4:
        raise ValueError(f"NT-Xent needs an even number of views from at least 2 tracks, got "
                         f"{projections.shape[0]}")
    logits = similarities(projections) / temperature
    return F.cross_entropy(logits, partners(len(logits), logits.device))


def pair_accuracy(projections: Tensor) -> Tensor:
    """Share of views whose most similar other view is their partner: the retrieval
    accuracy a pretraining run is monitored by (chance is ``1 / (2B - 1)``)."""
    nearest = similarities(projections).argmax(dim=-1)
    return (nearest == partners(len(nearest), nearest.device)).float().mean()


OBJECTIVES: dict[str, Callable[[Tensor, float], Tensor]] = {"nt_xent": nt_xent}
