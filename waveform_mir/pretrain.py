"""Self-supervised pretraining of a front-end and backbone on unlabelled audio.

The same file runs on one CPU, one GPU or many, as training does::

    waveform-mir pretrain recipes/pretrain/quickstart.yaml
    accelerate launch -m waveform_mir.pretrain recipes/pretrain/shared_audio.yaml
    waveform-mir pretrain RECIPE --resume latest

Read top to bottom, :func:`pretrain` is the whole job: prepare the audio (any source; labels
are ignored, and ``audio_files`` reads folders without any) → build the encoder (the recipe's
front-end and backbone under a projection head), optimiser and schedule → optimise the
contrastive objective on two views of every track for a budget of steps, validating on fixed
views of the validation tracks and keeping the best encoder
(:mod:`waveform_mir.pretraining.loop`) → write a summary. ``train.init_from`` starts the
encoder from another model's front-end and backbone (a supervised model, adapted to
unlabelled audio of the target domain, or an encoder pretrained further), with the
fine-tuning schedule of training. The best encoder in ``best/`` then
starts a classifier (``train.init_from``, with ``train.pretrained_lr_scale`` and
``train.pretrained_freeze_steps`` for the fine-tuning schedule) or feeds a linear probe
(``waveform-mir baseline RECIPE --embeddings-from OUTPUT/best``).
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from waveform_mir.config import Recipe, RecipeError
from waveform_mir.data import PreparedData
from waveform_mir.pretraining.contrastive import OBJECTIVES
from waveform_mir.pretraining.encoder import build_encoder
from waveform_mir.pretraining.loop import PretrainingRun, validation_spans
from waveform_mir.pretraining.views import ViewMaker
from waveform_mir.train import push_model, resume_state, start_from, start_run
from waveform_mir.training.batches import train_batches
from waveform_mir.training.loop import LoopState
from waveform_mir.training.optimisation import build_optimizer, build_scheduler

console = Console()
SUMMARY_FILE = "pretrain_summary.json"


@dataclass
class PretrainResult:
    output_dir: Path
    best_model_dir: Path
    steps: int


def span_recipe(recipe: Recipe) -> Recipe:
    """The recipe whose training crops are pretraining spans (``pretrain.span_seconds``), so
    the cached and the streamed loaders serve spans exactly as they serve crops."""
    data = dataclasses.replace(recipe.data, crop_seconds=recipe.pretrain.span_seconds)
    return dataclasses.replace(recipe, data=data)


def pretraining_record(recipe: Recipe, prepared: PreparedData) -> dict:
    """What the encoder was pretrained on and how, for its ``config.json``."""
    splits = prepared.dataset
    return {"objective": recipe.pretrain.objective, "temperature": recipe.pretrain.temperature,
            "source": recipe.data.source, "options": recipe.data.options,
            "train_tracks": len(splits["train"]) if prepared.stream is None else None,
            "validation_tracks": len(splits["validation"]), "max_steps": recipe.train.max_steps,
            "init_from": recipe.train.init_from, "recipe": recipe.name}


def check_pretraining(recipe: Recipe) -> None:
    """Refuse an unknown objective and a span too short for two distinct views."""
    settings = recipe.pretrain
    if settings.objective not in OBJECTIVES:
        raise RecipeError(f"unknown pretrain.objective '{settings.objective}'; choose from "
                          f"{sorted(OBJECTIVES)}")
    if settings.span_seconds < recipe.data.crop_seconds:
        raise RecipeError(f"pretrain.span_seconds ({settings.span_seconds}) must be at least "
                          f"data.crop_seconds ({recipe.data.crop_seconds}), the views' length")


def pretrain(recipe: Recipe, resume: str | None = None, push_to_hub: str | None = None
             ) -> PretrainResult:
    """Run one pretraining recipe end to end; returns where the best encoder went."""
    check_pretraining(recipe)
    cfg = recipe.train
    output_dir = Path(cfg.output_dir)
    # Audio: decoded once into the cache (or streamed); labels, if any, are never read.
    accelerator, prepared = start_run(recipe)
    if prepared.stream is None and not len(prepared.dataset["train"]):
        raise ValueError(f"no training audio in {recipe.data.source} {recipe.data.options}")

    # Encoder, optimiser, schedule (the scheduler stays out of ``prepare``, as in training).
    # A warm start (train.init_from: a supervised model, or an encoder to pretrain further)
    # copies front-end and backbone, never the projection head.
    encoder = build_encoder(recipe, pretraining_record(recipe, prepared))
    pretrained = start_from(encoder, cfg.init_from, accelerator)
    optimizer = build_optimizer(encoder, cfg, pretrained)
    scheduler = build_scheduler(optimizer, cfg)
    accelerator.register_for_checkpointing(scheduler)
    encoder, optimizer = accelerator.prepare(encoder, optimizer)
    spans = span_recipe(recipe)
    batches = train_batches(prepared, spans, accelerator)  # spans of tracks, cached or streamed
    views = ViewMaker(recipe.data.crop_samples, recipe.data.sample_rate, **recipe.pretrain.views)
    validation = validation_spans(prepared.dataset["validation"], spans.data.crop_samples,
                                  cfg.batch_size, cfg.seed, accelerator.device)
    accelerator.init_trackers(f"{recipe.name}-pretrain")

    state = resume_state(accelerator, output_dir, resume)
    started = time.perf_counter()
    run = PretrainingRun(recipe, accelerator, prepared, encoder, optimizer, scheduler, None,
                         None, views=views, validation=validation)
    run.optimise(batches, state)

    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        write_summary(recipe, state, accelerator.unwrap_model(encoder).pretraining,
                      state.earlier_seconds + time.perf_counter() - started,
                      len(prepared.skipped))
        if push_to_hub:
            push_model(run.best_dir, push_to_hub)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return PretrainResult(output_dir, run.best_dir, state.step)


def write_summary(recipe: Recipe, state: LoopState, pretraining: dict, seconds: float,
                  skipped_files: int) -> None:
    """``pretrain_summary.json`` (steps, best validation scores, history, what it was
    pretrained on, time, skipped files) and the recipe beside the best encoder."""
    output_dir = Path(recipe.train.output_dir)
    summary = {"steps": state.step, "best_validation": state.best, "history": state.history,
               "train_seconds": seconds, "skipped_files": skipped_files,
               "pretraining": pretraining}
    (output_dir / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str))
    recipe.save(output_dir / "best" / "recipe.yaml")
    shown = ", ".join(f"{k.replace('_', ' ')} {v:.3f}" for k, v in (state.best or {}).items())
    console.print(f"best encoder ({shown or 'no validation split'}): {output_dir / 'best'}")


if __name__ == "__main__":  # accelerate launch -m waveform_mir.pretrain RECIPE [--set ...]
    import sys

    from waveform_mir.cli import main

    raise SystemExit(main(["pretrain", *sys.argv[1:]]))
