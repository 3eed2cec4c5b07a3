"""Optimiser and learning-rate schedule: which weights decay, which learn at which rate, when.

Three parameter groups, each named in its ``"name"`` key:

- ``decay``: the backbone's and head's weight matrices and kernels (``ndim >= 2``), the only
  weights that weight decay (AdamW's decoupled shrink) is meant for.
- ``no_decay``: their biases and normalisation scales. Decay would pull a batch norm's scale
  toward 0 and its bias toward 0 whatever the loss says.
- ``frontend``: every trainable front-end parameter, without decay and at
  ``lr × frontend_lr_scale``. Front-end parameters are physical quantities — SincNet cut-offs,
  Gabor centres and widths, pooling widths, PCEN α/δ/r/s, log mel weights — for which decay
  toward 0 means "toward DC" or "toward r = 1": over the FMA-small schedule it would shrink
  them by a factor 0.82 without any gradient asking for it.

The schedule is linear warm-up then cosine decay over ``max_steps`` optimiser steps, one
:class:`~torch.optim.lr_scheduler.LambdaLR` factor per group. ``frontend_freeze_steps`` holds
the front-end at learning rate 0 for the first steps, as the learnable-front-end literature
does, so that a random backbone's first gradients do not wreck a well-initialised filterbank.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from ..config import TrainConfig


def parameter_groups(model: nn.Module, cfg: TrainConfig) -> list[dict]:
    """The named optimiser groups above; groups without parameters are left out."""
    frontend, decay, no_decay = [], [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        if name.startswith("frontend."):
            frontend.append(parameter)
        elif parameter.ndim >= 2:
            decay.append(parameter)
        else:
            no_decay.append(parameter)
    groups = [
        {"name": "decay", "params": decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
        {"name": "no_decay", "params": no_decay, "lr": cfg.lr, "weight_decay": 0.0},
        {"name": "frontend", "params": frontend, "lr": cfg.lr * cfg.frontend_lr_scale,
         "weight_decay": 0.0},
    ]
    return [group for group in groups if group["params"]]


def build_optimizer(model: nn.Module, cfg: TrainConfig) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups` (each group carries its own decay and rate)."""
    return torch.optim.AdamW(parameter_groups(model, cfg))


def warmup_cosine_factor(warmup_steps: int, total_steps: int) -> Callable[[int], float]:
    """Multiplier of the base rate after ``step`` optimiser steps: rises 0 → 1 over
    ``warmup_steps``, then follows a half cosine to 0 at ``total_steps``."""

    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / max(1, warmup_steps)
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))

    return factor


def frozen_until(freeze_steps: int, factor: Callable[[int], float]) -> Callable[[int], float]:
    """``factor``, but 0 for the first ``freeze_steps`` steps."""
    return lambda step: 0.0 if step < freeze_steps else factor(step)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up + cosine for every group; the front-end group also frozen at first.

    Step it once per *optimiser* step (after a gradient-accumulation window), on every
    process: it must not go through ``accelerator.prepare``, whose wrapper steps a scheduler
    ``num_processes`` times per call and so ran a two-process schedule twice as fast.
    """
    shared = warmup_cosine_factor(cfg.warmup_steps, cfg.max_steps)
    factors = [frozen_until(cfg.frontend_freeze_steps, shared)
               if group.get("name") == "frontend" else shared
               for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)
