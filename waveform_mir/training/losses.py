"""Training losses by task: soft-target cross-entropy for one genre per track, binary
cross-entropy for several tags per track; picked by ``data.task``.

Both take ``(batch, classes)`` logits and ``(batch, classes)`` soft targets (one-hot or
multi-hot, possibly mixed by mixup), so augmentation is shared by the two tasks.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from .regularisation import soft_cross_entropy

Loss = Callable[..., torch.Tensor]


def binary_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, tag_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Mean over tags and clips of one sigmoid cross-entropy per tag.

    ``tag_weights`` (tags,), from :func:`positive_weights`, multiplies each tag's positive
    term, so a rare tag's few positives are not drowned by its many negatives; label
    smoothing pulls every target toward 0.5 by ``label_smoothing / 2``.
    """
    if label_smoothing > 0:
        targets = targets * (1 - label_smoothing) + label_smoothing / 2
    return F.binary_cross_entropy_with_logits(logits.float(), targets,
                                              pos_weight=tag_weights)


LOSSES: dict[str, Loss] = {
    "single_label": soft_cross_entropy,
    "multi_label": binary_cross_entropy,
}


def positive_weights(targets: torch.Tensor, limit: float = 100.0) -> torch.Tensor:
    """(tags,) ``negatives / positives`` per tag of the training targets ``(tracks, tags)``,
    capped at ``limit`` (a tag with one positive must not dominate the loss)."""
    positives = targets.sum(dim=0)
    negatives = targets.shape[0] - positives
    return (negatives / positives.clamp(min=1)).clamp(max=limit)
