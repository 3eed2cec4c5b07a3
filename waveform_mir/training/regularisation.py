"""Waveform-level regularisation for small data: random gain, mixup, soft-target loss.

Small real datasets (a few hundred excerpts) are where end-to-end models over-fit first; the
literature's cheapest remedies act on the waveform batch before the front-end, so that every
front-end, learnable or fixed, receives the same augmented input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_gain(waveform: torch.Tensor, max_db: float, generator: torch.Generator | None = None
                ) -> torch.Tensor:
    """Scale each clip by a gain drawn uniformly in ±``max_db`` dB; (B, T) → (B, T)."""
    if max_db <= 0:
        return waveform
    db = (torch.rand(waveform.shape[0], 1, generator=generator) * 2 - 1) * max_db
    return waveform * (10 ** (db / 20)).to(waveform)


def mixup(
    waveform: torch.Tensor, targets: torch.Tensor, alpha: float,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mix each clip with a shuffled partner (Zhang et al. 2018).

    Args:
        waveform: (B, T) clips.
        targets: (B, C) soft targets (one-hot before mixing).
        alpha: Beta(alpha, alpha) concentration; 0 disables mixing.

    Returns:
        Mixed (B, T) clips and (B, C) targets weighted by the same per-clip coefficients.
    """
    if alpha <= 0 or waveform.shape[0] < 2:
        return waveform, targets
    beta = torch.distributions.Beta(alpha, alpha)
    lam = beta.sample((waveform.shape[0],)).to(waveform)
    lam = torch.maximum(lam, 1 - lam)  # the original clip stays dominant
    partner = torch.randperm(waveform.shape[0], generator=generator).to(waveform.device)
    mixed = lam[:, None] * waveform + (1 - lam[:, None]) * waveform[partner]
    mixed_targets = lam[:, None] * targets + (1 - lam[:, None]) * targets[partner]
    return mixed, mixed_targets


def soft_cross_entropy(
    logits: torch.Tensor, targets: torch.Tensor, class_weights: torch.Tensor | None = None,
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy against (B, C) soft targets, optionally class-weighted and smoothed.

    Class weights multiply each class's term, as ``nn.CrossEntropyLoss(weight=…)`` does, and the
    loss is normalised by the batch's total target weight so its scale does not drift with the
    class mix of a batch.
    """
    num_classes = logits.shape[1]
    if label_smoothing > 0:
        targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
    log_probs = F.log_softmax(logits.float(), dim=1)
    if class_weights is None:
        return -(targets * log_probs).sum(dim=1).mean()
    weighted = targets * class_weights[None, :]
    return -(weighted * log_probs).sum() / weighted.sum().clamp(min=1e-12)


def inverse_frequency_weights(labels: list[int], num_classes: int) -> torch.Tensor:
    """(C,) weights ∝ 1 / class count, mean 1 over classes present; for unbalanced data."""
    counts = torch.bincount(torch.as_tensor(labels), minlength=num_classes).float()
    weights = torch.where(counts > 0, counts.sum() / (num_classes * counts.clamp(min=1)), 0.0)
    return weights / weights[counts > 0].mean()
