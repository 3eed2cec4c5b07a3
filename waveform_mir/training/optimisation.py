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

A fine-tuned run (``train.init_from``) splits each group into the tensors it copied
(``pretrained_<group>``, at ``lr × pretrained_lr_scale``, held at 0 for
``pretrained_freeze_steps``) and the fresh ones (the new head), which learn at the full rate.

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


def parameter_groups(model: nn.Module, cfg: TrainConfig,
                     pretrained: frozenset[str] = frozenset()) -> list[dict]:
    """The named optimiser groups above; groups without parameters are left out.

    ``pretrained`` names the parameters a warm start copied (``train.init_from``): each group
    then splits in two, the copied half named ``pretrained_<group>`` at
    ``lr × pretrained_lr_scale``, so a fine-tuned representation moves less than the new head
    learns (the discriminative fine-tuning of Howard & Ruder 2018).
    """
    members: dict[str, list[nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        group = ("frontend" if name.startswith("frontend.")
                 else "decay" if parameter.ndim >= 2 else "no_decay")
        key = f"pretrained_{group}" if name in pretrained else group
        members.setdefault(key, []).append(parameter)
    base = {"decay": (cfg.lr, cfg.weight_decay), "no_decay": (cfg.lr, 0.0),
            "frontend": (cfg.lr * cfg.frontend_lr_scale, 0.0)}
    groups = []
    for prefix, scale in (("", 1.0), ("pretrained_", cfg.pretrained_lr_scale)):
        for group, (lr, decay) in base.items():
            if members.get(prefix + group):
                groups.append({"name": prefix + group, "params": members[prefix + group],
                               "lr": lr * scale, "weight_decay": decay})
    return groups


def build_optimizer(model: nn.Module, cfg: TrainConfig,
                    pretrained: frozenset[str] = frozenset()) -> torch.optim.AdamW:
    """AdamW over :func:`parameter_groups` (each group carries its own decay and rate)."""
    return torch.optim.AdamW(parameter_groups(model, cfg, pretrained))


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


def group_freeze_steps(name: str, cfg: TrainConfig) -> int:
    """Steps a group stays at lr 0: the front-end's ``frontend_freeze_steps``, the copied
    tensors' ``pretrained_freeze_steps`` (the head learns alone first, as in the linear-probe
    then fine-tune recipe of Kumar et al. 2022), the longer of the two for both."""
    frozen = [cfg.frontend_freeze_steps if name.endswith("frontend") else 0,
              cfg.pretrained_freeze_steps if name.startswith("pretrained_") else 0]
    return max(frozen)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: TrainConfig
                    ) -> torch.optim.lr_scheduler.LambdaLR:
    """Warm-up + cosine for every group; front-end and pretrained groups frozen at first.

    Step it once per *optimiser* step (after a gradient-accumulation window), on every
    process: it must not go through ``accelerator.prepare``, whose wrapper steps a scheduler
    ``num_processes`` times per call and so ran a two-process schedule twice as fast.
    """
    shared = warmup_cosine_factor(cfg.warmup_steps, cfg.max_steps)
    factors = [frozen_until(group_freeze_steps(group.get("name", ""), cfg), shared)
               for group in optimizer.param_groups]
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)
