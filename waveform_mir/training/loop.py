"""The optimisation loop of ``waveform_mir.train``: steps, validation, best model, checkpoints.

One :class:`TrainingRun` holds the prepared parts of a run (model, optimiser, scheduler,
loaders) and walks optimiser steps until the budget is spent, evaluating on validation and
checkpointing on the recipe's schedule. Everything here is the same for one process and for
many: the scheduler steps once per optimiser step, evaluation gathers every chunk exactly once,
and random draws are seeded per (step, process, micro-batch).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import Accelerator
from rich.console import Console
from torch.nn.functional import one_hot

from waveform_mir.config import Recipe
from waveform_mir.data import PreparedData
from waveform_mir.evaluation.evaluator import TrackEvaluator
from waveform_mir.evaluation.selection import HEADLINES, is_better
from waveform_mir.progress import progress_bar
from waveform_mir.training.batches import TrainBatches
from waveform_mir.training.checkpoints import save_checkpoint, seed_step
from waveform_mir.training.losses import LOSSES
from waveform_mir.training.regularisation import mixup, random_gain

console = Console()


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left untouched."""


@dataclass
class LoopState:
    """Where a run stands: optimiser steps done, the best model's validation scores, the
    evaluation history, and the seconds spent before the last resume (a run's time spans its
    resumes)."""

    step: int = 0
    best: dict[str, float] | None = None
    history: list[dict] = field(default_factory=list)
    earlier_seconds: float = 0.0


def training_loss(model, batch: dict, cfg, task: str, num_classes: int,
                  loss_weights: torch.Tensor | None) -> torch.Tensor:
    """Augment one micro-batch (gain, mixup) and return the task's loss: soft-target
    cross-entropy over classes, or binary cross-entropy per tag. ``loss_weights`` are class
    weights or per-tag positive weights, ``(classes,)``."""
    waveform = random_gain(batch["waveform"], cfg.random_gain_db)
    labels = batch["label"]  # (B,) class ids or (B, tags) multi-hot
    targets = labels.float() if labels.ndim == 2 else one_hot(labels, num_classes).float()
    waveform, targets = mixup(waveform, targets, cfg.mixup_alpha)
    return LOSSES[task](model(waveform), targets, loss_weights, cfg.label_smoothing)


@dataclass
class TrainingRun:
    """The prepared parts of one run and the loop that optimises them."""

    recipe: Recipe
    accelerator: Accelerator
    prepared: PreparedData
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    loss_weights: torch.Tensor | None  # class weights, or a tagger's positive weights
    evaluator: TrackEvaluator

    @property
    def task(self) -> str:
        return self.recipe.data.task

    @property
    def best_dir(self) -> Path:
        return Path(self.recipe.train.output_dir) / "best"

    def optimise(self, batches: TrainBatches, state: LoopState) -> None:
        """Optimiser steps until ``max_steps``: evaluate, keep the best, checkpoint.

        Every micro-batch seeds torch's RNG from ``(seed, step, process, micro-batch)``, so
        the micro-batches of one accumulation window draw different gains, mixup pairs,
        masks and dropout, and a resumed run draws what an uninterrupted one would.
        """
        cfg, accelerator = self.recipe.train, self.accelerator
        started, clips_seen, micro = time.perf_counter(), 0, 0
        self.model.train()
        with progress_bar("training", total=cfg.max_steps,
                          enabled=cfg.progress and accelerator.is_local_main_process) as advance:
            advance(state.step)
            while state.step < cfg.max_steps:
                for batch in batches.from_step(state.step):
                    seed_step(cfg.seed, state.step, accelerator.process_index, micro)
                    with accelerator.accumulate(self.model):
                        loss = self.batch_loss(batch)
                        accelerator.backward(loss)
                        if accelerator.sync_gradients and cfg.grad_clip > 0:
                            accelerator.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                        self.optimizer.step()
                        self.optimizer.zero_grad()
                    clips_seen += len(batch["label"]) * accelerator.num_processes
                    if not accelerator.sync_gradients:
                        micro += 1
                        continue
                    micro = 0
                    lr = self.optimizer.param_groups[0]["lr"]
                    self.scheduler.step()
                    state.step += 1
                    mean_loss = self.log_step(loss, lr, state.step)
                    advance(info=f"loss {mean_loss:.3f}")
                    elapsed = time.perf_counter() - started
                    self.after_step(state, mean_loss, clips_seen / max(elapsed, 1e-9),
                                    state.earlier_seconds + elapsed)
                    if state.step >= cfg.max_steps:
                        break

    def batch_loss(self, batch: dict) -> torch.Tensor:
        """The loss one micro-batch is optimised for: the task's (see :func:`training_loss`)."""
        return training_loss(self.model, batch, self.recipe.train, self.task,
                             len(self.prepared.label_names), self.loss_weights)

    def log_step(self, loss: torch.Tensor, lr: float, step: int) -> float:
        """Mean loss over processes, logged with the learning rate step ``step`` used;
        raises :class:`TrainingDiverged` on a NaN or infinite loss."""
        mean_loss = self.accelerator.reduce(loss.detach(), "mean").item()
        if not math.isfinite(mean_loss):
            self.accelerator.end_training()
            raise TrainingDiverged(
                f"loss became {mean_loss} at step {step}; the last good checkpoint in "
                f"{Path(self.recipe.train.output_dir) / 'checkpoints'} is kept (lower "
                f"train.lr or raise train.grad_clip, then --resume latest)")
        self.accelerator.log({"train/loss": mean_loss, "train/lr": lr}, step=step)
        return mean_loss

    def after_step(self, state: LoopState, loss: float, clips_per_second: float,
                   seconds: float) -> None:
        """Evaluate and keep the best model every ``eval_every`` steps; checkpoint every
        ``checkpoint_every`` steps; both at the last step."""
        cfg, step = self.recipe.train, state.step
        last = step == cfg.max_steps
        if step % cfg.eval_every == 0 or last:
            self.evaluate_and_keep_best(state, loss, clips_per_second)
        if step % cfg.checkpoint_every == 0 or last:
            save_checkpoint(self.accelerator, Path(cfg.output_dir), step, cfg.keep_checkpoints,
                            {"best": state.best, "history": state.history,
                             "train_seconds": seconds})

    def evaluate_and_keep_best(self, state: LoopState, loss: float,
                               clips_per_second: float) -> None:
        """Validation scores into the history and the logs; save the model if it is the best
        so far by the shared rule (:mod:`waveform_mir.evaluation.selection`)."""
        accelerator = self.accelerator
        scores = self.evaluator.scores(self.model, "validation")
        headline = {name: scores[name] for name in HEADLINES[self.task]}
        row = {"step": state.step, "loss": loss, **{f"val_{k}": v for k, v in headline.items()},
               "clips_per_second": clips_per_second}
        state.history.append(row)
        accelerator.log({f"val/{k}": v for k, v in headline.items() if v is not None},
                        step=state.step)
        if accelerator.is_main_process:
            shown = " · ".join(f"val {k.replace('_', ' ')} {v:.3f}"
                               for k, v in headline.items() if v is not None)
            console.print(f"step {state.step:>6} · loss {loss:.3f} · {shown} · "
                          f"{clips_per_second:.0f} clips/s")
        if is_better(scores, state.best):
            state.best = headline
            if accelerator.is_main_process:
                accelerator.unwrap_model(self.model).save_pretrained(self.best_dir)
        accelerator.wait_for_everyone()
