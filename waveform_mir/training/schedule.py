"""Learning-rate schedule: linear warm-up then cosine decay to zero over the step budget."""

from __future__ import annotations

import math

import torch


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int
                  ) -> torch.optim.lr_scheduler.LambdaLR:
    """Multiplier rises 0 → 1 over ``warmup_steps``, then follows a half cosine to 0."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
