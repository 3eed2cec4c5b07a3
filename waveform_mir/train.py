"""Train a waveform classifier from a recipe under Hugging Face ``accelerate``.

The same file runs on one CPU, one GPU or many::

    waveform-mir train recipes/quickstart.yaml
    accelerate launch -m waveform_mir.train recipes/quickstart.yaml --set train.lr=3e-4
    accelerate launch -m waveform_mir.train RECIPE --resume latest

Read top to bottom, :func:`train` is the whole job: prepare data → build model, optimiser
and schedule → optimise for a budget of steps (:mod:`waveform_mir.training.loop`: random
crops, cached or streamed (:mod:`waveform_mir.training.batches`), waveform augmentation,
warm-up + cosine schedule, gradient clipping, evaluating on
validation chunks every ``eval_every`` steps and keeping the best model by the shared rule
of :mod:`waveform_mir.evaluation.selection`) →
calibrate and score the best model on test at track level, with 95 % intervals over the
test tracks → write metrics, plots, the per-track test outputs (``test_tracks.npz``, what
``ablate`` draws its intervals and paired comparisons from) and a model card.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from rich.console import Console

from waveform_mir.config import Recipe
from waveform_mir.data import PreparedData, select_task, with_fold
from waveform_mir.data import prepare_dataset as prepare_data
from waveform_mir.data.labels import label_targets
from waveform_mir.evaluation.evaluator import TrackEvaluator
from waveform_mir.evaluation.selection import SELECTION_RULE, rule_for
from waveform_mir.evaluation.track_outputs import TRACKS_FILE, TrackOutputs
from waveform_mir.model import WaveformClassifier, build_model_for_data
from waveform_mir.reports.filters import plot_filters, save_filters, snapshot_filters
from waveform_mir.reports.metrics import report, write_model_card
from waveform_mir.training.batches import train_batches
from waveform_mir.training.checkpoints import load_checkpoint, resolve_resume
from waveform_mir.training.loop import LoopState, TrainingRun
from waveform_mir.training.losses import positive_weights
from waveform_mir.training.optimisation import build_optimizer, build_scheduler
from waveform_mir.training.regularisation import inverse_frequency_weights
from waveform_mir.training.warm_start import warm_start

console = Console()


@dataclass
class TrainResult:
    output_dir: Path
    best_model_dir: Path
    test_scores: dict | None
    steps: int


def cpu_data_parallel() -> bool:
    """True for several launched processes on a machine without CUDA.

    ``accelerate launch --multi_gpu --num_processes N`` starts N processes either way, but
    accelerate only joins them into one data-parallel group over gloo when told to run on the
    CPU; otherwise each would train alone on its own copy of the data.
    """
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


def flat_config(recipe: Recipe) -> dict:
    """Recipe as flat scalar hyper-parameters, the form tensorboard's hparams accept."""
    flat: dict = {}

    def walk(prefix: str, node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else key, value)
        else:
            flat[prefix] = node if isinstance(node, int | float | str | bool) else str(node)

    walk("", recipe.to_dict())
    return flat


def calibrate_best(model: WaveformClassifier, evaluator: TrackEvaluator, model_dir: Path
                   ) -> None:
    """Fit the best model's decision on validation and save it: its temperature (track-level
    log loss), or a tagger's per-tag thresholds (F1)."""
    message = evaluator.fit_decision(model, "validation")
    if evaluator.accelerator.is_main_process:
        model.save_pretrained(model_dir)
        console.print(message)
    evaluator.accelerator.wait_for_everyone()


def training_loss_weights(prepared: PreparedData, recipe: Recipe) -> torch.Tensor | None:
    """``(classes,)`` inverse-frequency class weights (``train.class_weights``), or a
    tagger's per-tag positive weights (``train.positive_weights``); ``None`` for neither."""
    train_split = prepared.dataset["train"]
    if recipe.train.class_weights:
        return inverse_frequency_weights(train_split["label"], len(prepared.label_names))
    if recipe.train.positive_weights:
        return positive_weights(torch.from_numpy(label_targets(train_split)))
    return None


def make_accelerator(cfg, output_dir: Path) -> Accelerator:
    """One ``Accelerator`` for CPU, one GPU or many; gloo data parallel for CPU processes."""
    return Accelerator(
        cpu=cpu_data_parallel(),
        mixed_precision=cfg.mixed_precision,
        gradient_accumulation_steps=cfg.grad_accumulation,
        log_with=cfg.log_with or None,
        project_config=ProjectConfiguration(project_dir=str(output_dir),
                                            logging_dir=str(output_dir / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed),
    )


def resume_state(accelerator: Accelerator, output_dir: Path, resume: str | None) -> LoopState:
    """Weights, optimiser, scheduler and RNG states of the checkpoint ``resume`` names (none:
    a fresh :class:`LoopState`)."""
    checkpoint = resolve_resume(output_dir, resume)
    if checkpoint is None:
        return LoopState()
    saved = load_checkpoint(accelerator, checkpoint)
    if accelerator.is_main_process:
        console.print(f"resumed from {checkpoint} at step {saved['step']}")
    return LoopState(saved["step"], saved["best"], saved["history"],
                     saved.get("train_seconds", 0.0))


def start_run(recipe: Recipe) -> tuple[Accelerator, PreparedData]:
    """A run's accelerator, seeded, its resolved recipe saved into its output folder, and its
    data prepared: decoded once into the cache, by the main process first while the others
    wait to read the cache."""
    output_dir = Path(recipe.train.output_dir)
    accelerator = make_accelerator(recipe.train, output_dir)
    set_seed(recipe.train.seed)
    if accelerator.is_main_process:
        output_dir.mkdir(parents=True, exist_ok=True)
        recipe.save(output_dir / "recipe.yaml")
    with accelerator.main_process_first():
        prepared = prepare_data(recipe.data, progress=accelerator.is_local_main_process)
    return accelerator, prepared


def start_from(model: torch.nn.Module, source: str | None, accelerator: Accelerator
               ) -> frozenset[str]:
    """Copy ``source``'s weights into ``model`` (``train.init_from``; nothing when ``None``)
    and return the names of the tensors copied, which the optimiser puts on the fine-tuning
    schedule (``train.pretrained_lr_scale`` / ``pretrained_freeze_steps``)."""
    if not source:
        return frozenset()
    started_from = warm_start(model, source)
    if accelerator.is_main_process:
        console.print(started_from.summary())
    return frozenset(started_from.copied)


def train(recipe: Recipe, resume: str | None = None, push_to_hub: str | None = None
          ) -> TrainResult:
    """Run one recipe end to end; returns where the best model and test scores went."""
    cfg = recipe.train
    output_dir = Path(cfg.output_dir)
    accelerator, prepared = start_run(recipe)  # data decoded once into the cache
    prepared = with_fold(prepared, recipe.data.fold)  # one fold of K, when the recipe says so
    prepared = select_task(prepared, recipe.data)  # the label column this run learns
    id2label = dict(enumerate(prepared.label_names))

    # Model, optimiser, schedule. The scheduler stays out of ``prepare`` (see build_scheduler)
    # and is registered so checkpoints still carry it.
    model = build_model_for_data(recipe.model, recipe.data, id2label)
    # before the filter snapshot: drift is measured from where it starts
    pretrained = start_from(model, cfg.init_from, accelerator)
    initial_filters = snapshot_filters(model)
    optimizer = build_optimizer(model, cfg, pretrained)  # copied tensors: the fine-tuning rate
    scheduler = build_scheduler(optimizer, cfg)
    accelerator.register_for_checkpointing(scheduler)
    model, optimizer = accelerator.prepare(model, optimizer)
    batches = train_batches(prepared, recipe, accelerator)  # cached or streamed crops
    loss_weights = training_loss_weights(prepared, recipe)
    if loss_weights is not None:
        loss_weights = loss_weights.to(accelerator.device)
    accelerator.init_trackers(recipe.name, config=flat_config(recipe))

    evaluator = TrackEvaluator(prepared, recipe.data.crop_samples, recipe.data.eval_hop_samples,
                               cfg.eval_batch_size, accelerator)

    state = resume_state(accelerator, output_dir, resume)
    started = time.perf_counter()
    run = TrainingRun(recipe, accelerator, prepared, model, optimizer, scheduler, loss_weights,
                      evaluator)
    run.optimise(batches, state)

    # Calibrate the best model on validation, score it on test at track level; write metrics,
    # plots, model card.
    accelerator.wait_for_everyone()
    best = WaveformClassifier.from_pretrained(run.best_dir).to(accelerator.device)
    if cfg.calibrate and evaluator.has("validation"):
        calibrate_best(best, evaluator, run.best_dir)
    test_scores, test_tracks = (evaluator.tested(best, "test") if evaluator.has("test")
                                else (None, None))
    if accelerator.is_main_process:
        seconds = state.earlier_seconds + time.perf_counter() - started
        write_outputs(recipe, best, state, (test_scores, test_tracks), initial_filters,
                      seconds, accelerator.num_processes, len(prepared.skipped))
        if push_to_hub:
            push_model(run.best_dir, push_to_hub)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(output_dir, run.best_dir, test_scores, state.step)


def write_outputs(recipe: Recipe, best: WaveformClassifier, state: LoopState,
                  tested: tuple[dict | None, TrackOutputs | None], initial_filters,
                  seconds: float, num_processes: int, skipped_files: int) -> None:
    """Summary JSON, test metrics (``tested``: scores and per-track outputs, ``None`` without
    a test split) and confusion plot, learned filters, model card."""
    test_scores, test_tracks = tested
    output_dir = Path(recipe.train.output_dir)
    best_dir = output_dir / "best"
    best_val = state.best or {}
    summary = {"steps": state.step, "best_val_macro_f1": best_val.get("macro_f1"),
               "best_validation": best_val, "selection": SELECTION_RULE,
               "history": state.history, "temperature": float(best.temperature),
               "num_processes": num_processes, "train_seconds": seconds,
               "skipped_files": skipped_files}
    (output_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
    if test_scores is not None:
        paths = report(test_scores, output_dir, "test", console)
        test_tracks.save(output_dir / TRACKS_FILE)
        console.print(f"test metrics: {paths['metrics']} · plot: {paths['plot']}")
    recipe.save(best_dir / "recipe.yaml")
    if initial_filters is not None:
        final_filters = snapshot_filters(best)
        save_filters(initial_filters, final_filters, output_dir)
        plot_filters(initial_filters, final_filters, output_dir / "filters.png",
                     recipe.data.sample_rate, recipe.model.frontend["name"])
    write_model_card(best_dir, recipe.to_dict(), test_scores)
    chosen_by = rule_for(best_val)[0][0]  # macro_f1, or macro_pr_auc for tags
    value = best_val.get(chosen_by)
    console.print(f"best model (val {chosen_by.replace('_', ' ')} "
                  f"{float('nan') if value is None else value:.3f}): {best_dir}")


def push_model(model_dir: Path, repo_id: str) -> None:
    """Upload a saved model folder (weights, config, label map, card) to the Hub.

    Any failure (no token, no network, no permission) ends in one message that says how to
    push the same folder later; the trained model is never lost to a failed upload.
    """
    from huggingface_hub import get_token, upload_folder

    later = f"the model stays saved in {model_dir}; push it later with `hf upload {repo_id} " \
        f"{model_dir}`"
    if get_token() is None:
        raise SystemExit(f"cannot push to the Hub: no token (run `hf auth login` or set "
                         f"HF_TOKEN); {later}")
    try:
        url = upload_folder(repo_id=repo_id, folder_path=str(model_dir), repo_type="model")
    except Exception as error:  # network, authentication and permission errors alike
        raise SystemExit(f"could not push {model_dir} to the Hub as '{repo_id}': "
                         f"{type(error).__name__}: {error}; {later}") from None
    console.print(f"pushed to {url}")


if __name__ == "__main__":  # accelerate launch -m waveform_mir.train RECIPE [--set ...]
    import sys

    from waveform_mir.cli import main

    raise SystemExit(main(["train", *sys.argv[1:]]))
