"""The training loop's pretraining variant: a contrastive loss on two views per track.

:class:`PretrainingRun` is :class:`~waveform_mir.training.loop.TrainingRun` with two things
changed and everything else shared (budget of optimiser steps, per-step seeding, gradient
accumulation and clipping, the schedule, NaN guard, checkpoints every ``checkpoint_every``
steps and resume): a micro-batch's loss is the objective on the views
:class:`~.views.ViewMaker` cuts from its spans, and validation is that loss and the pair
retrieval accuracy on fixed views of the validation tracks. The encoder with the lowest
validation loss is kept in ``best/``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import datasets
import torch
from rich.console import Console
from torch import Tensor

from waveform_mir.data import RandomCropDataset, collate
from waveform_mir.training.loop import LoopState, TrainingRun

from .contrastive import OBJECTIVES, pair_accuracy
from .views import ViewMaker

console = Console()


def validation_spans(split: datasets.Dataset, span_samples: int, batch_size: int, seed: int,
                     device: torch.device) -> list[Tensor]:
    """Fixed spans of every validation track in batches ``(≤ batch_size, span_samples)``:
    the crops of epoch 0, so every evaluation of a run compares the same audio (a batch of
    one track has no negative and is left out)."""
    crops = RandomCropDataset(split, span_samples, seed=seed)
    batches = []
    for first in range(0, len(crops), batch_size):
        items = [crops[i] for i in range(first, min(first + batch_size, len(crops)))]
        if len(items) >= 2:
            batches.append(collate(items)["waveform"].to(device))
    return batches


@dataclass
class PretrainingRun(TrainingRun):
    """A :class:`TrainingRun` whose loss is contrastive (see the module)."""

    views: ViewMaker | None = None
    validation: list[Tensor] = field(default_factory=list)

    def objective(self, projections: Tensor) -> Tensor:
        settings = self.recipe.pretrain
        return OBJECTIVES[settings.objective](projections, settings.temperature)

    def batch_loss(self, batch: dict) -> Tensor:
        """The objective on two views of each span ``(B, span) → (2B, crop)``."""
        return self.objective(self.model(self.views(batch["waveform"])))

    @torch.no_grad()
    def validation_scores(self) -> dict[str, float] | None:
        """Mean loss and pair accuracy over the validation batches (views drawn from one
        fixed generator, so scores differ between evaluations only by the weights)."""
        if not self.validation:
            return None
        model = self.accelerator.unwrap_model(self.model)
        model.eval()
        generator = torch.Generator(device=self.validation[0].device)
        generator.manual_seed(self.recipe.train.seed)
        total, loss, accuracy = 0, 0.0, 0.0
        for spans in self.validation:
            projections = model(self.views(spans, generator))
            loss += self.objective(projections).item() * len(spans)
            accuracy += pair_accuracy(projections).item() * len(spans)
            total += len(spans)
        model.train()
        return {"contrastive_loss": loss / total, "pair_accuracy": accuracy / total}

    def evaluate_and_keep_best(self, state: LoopState, loss: float,
                               clips_per_second: float) -> None:
        """Validation scores into the history and logs; the encoder with the lowest
        validation loss saved (the latest one when there is no validation split)."""
        accelerator = self.accelerator
        scores = self.validation_scores()
        row = {"step": state.step, "loss": loss, "clips_per_second": clips_per_second,
               **{f"val_{k}": v for k, v in (scores or {}).items()}}
        state.history.append(row)
        accelerator.log({f"val/{k}": v for k, v in (scores or {}).items()}, step=state.step)
        if accelerator.is_main_process:
            shown = " · ".join(f"val {k.replace('_', ' ')} {v:.3f}"
                               for k, v in (scores or {}).items())
            console.print(f"step {state.step:>6} · loss {loss:.3f} · {shown} · "
                          f"{clips_per_second:.0f} clips/s")
        better = (scores is None or not state.best
                  or scores["contrastive_loss"] < state.best["contrastive_loss"])
        if better:
            state.best = scores or {}
            if accelerator.is_main_process:
                accelerator.unwrap_model(self.model).save_pretrained(self.best_dir)
        accelerator.wait_for_everyone()
