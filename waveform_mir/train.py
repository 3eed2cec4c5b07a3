"""Train a waveform classifier from a recipe under Hugging Face ``accelerate``.

The same file runs on one CPU, one GPU or many::

    waveform-mir train recipes/quickstart.yaml
    accelerate launch -m waveform_mir.train recipes/quickstart.yaml --set train.lr=3e-4
    accelerate launch -m waveform_mir.train RECIPE --resume latest

Read top to bottom it is the whole job: prepare data → build model → optimise for a budget
of steps (random crops, waveform augmentation, warm-up + cosine schedule, gradient
clipping), evaluating on validation chunks every ``eval_every`` steps and keeping the best
model by macro-F1 → score the best model on test at track level → write metrics, plots and
a model card.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from accelerate import Accelerator
from accelerate.utils import DataLoaderConfiguration, ProjectConfiguration, set_seed
from rich.console import Console
from torch.utils.data import DataLoader

from waveform_mir.calibration import calibrate
from waveform_mir.config import Recipe, load_recipe
from waveform_mir.console import print_error
from waveform_mir.data import PreparedData, RandomCropDataset, class_balanced_sampler, collate
from waveform_mir.data import prepare_dataset as prepare_data
from waveform_mir.evaluation import chunk_loader, predict_tracks, score_tracks
from waveform_mir.filters_report import plot_filters, save_filters, snapshot_filters
from waveform_mir.metrics import HEADLINE_METRICS
from waveform_mir.model import WaveformClassifier, build_model
from waveform_mir.progress import progress_bar
from waveform_mir.reporting import report, write_model_card
from waveform_mir.training.checkpoints import (
    load_checkpoint,
    resolve_resume,
    save_checkpoint,
    seed_step,
)
from waveform_mir.training.regularisation import (
    inverse_frequency_weights,
    mixup,
    random_gain,
    soft_cross_entropy,
)
from waveform_mir.training.schedule import warmup_cosine

console = Console()


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the last good checkpoint is left untouched."""


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


def parameter_groups(model: torch.nn.Module, cfg) -> list[dict]:
    """Front-end and the rest as two optimiser groups, the front-end at ``frontend_lr_scale``.

    Adam moves every weight by about ``lr`` per step whatever its scale; the weights of a mel
    filterbank are ~1e-3, so at a backbone's learning rate they are overwritten in a handful
    of steps. A smaller front-end rate lets such kernels be refined rather than replaced.
    """
    frontend = [p for p in model.frontend.parameters() if p.requires_grad]
    rest = [p for name, p in model.named_parameters()
            if p.requires_grad and not name.startswith("frontend.")]
    groups = [{"params": rest, "lr": cfg.lr}]
    if frontend:
        groups.append({"params": frontend, "lr": cfg.lr * cfg.frontend_lr_scale})
    return groups


def make_train_loader(prepared: PreparedData, recipe: Recipe) -> DataLoader:
    """Random crops of the training split, shuffled or drawn class-balanced."""
    train_split = prepared.dataset["train"]
    crops = RandomCropDataset(train_split, recipe.data.crop_samples, seed=recipe.train.seed)
    sampler = None
    if recipe.data.balanced_sampling:
        sampler = class_balanced_sampler(train_split["label"], num_samples=len(train_split),
                                         seed=recipe.train.seed)
    return DataLoader(crops, batch_size=recipe.train.batch_size, shuffle=sampler is None,
                      sampler=sampler, drop_last=len(crops) >= recipe.train.batch_size,
                      collate_fn=collate, num_workers=recipe.train.num_workers)


def evaluate_split(model, prepared: PreparedData, split: str, recipe: Recipe,
                   accelerator: Accelerator, loaders: dict[str, DataLoader]) -> dict:
    """Track-level scores on ``split``; its chunk loader is built and prepared once per run
    (``loaders`` caches it), not at every evaluation."""
    loader = eval_split_loader(prepared, split, recipe, accelerator, loaders)
    predictions = predict_tracks(model, loader, accelerator, description=f"eval {split}")
    return score_tracks(predictions, prepared.label_names)


def eval_split_loader(prepared: PreparedData, split: str, recipe: Recipe,
                      accelerator: Accelerator, loaders: dict[str, DataLoader]) -> DataLoader:
    """The prepared chunk loader of ``split``, built on first use and kept in ``loaders``."""
    if split not in loaders:
        loaders[split] = accelerator.prepare(chunk_loader(
            prepared.dataset[split], recipe.data.crop_samples, recipe.data.eval_hop_samples,
            recipe.train.eval_batch_size))
    return loaders[split]


def calibrate_best(model: WaveformClassifier, prepared: PreparedData, recipe: Recipe,
                   accelerator: Accelerator, loaders: dict[str, DataLoader], model_dir: Path
                   ) -> None:
    """Fit the best model's temperature on validation (track-level log loss) and save it."""
    before, after = calibrate(model, eval_split_loader(prepared, "validation", recipe,
                                                       accelerator, loaders), accelerator)
    if accelerator.is_main_process:
        model.save_pretrained(model_dir)
        console.print(f"temperature {float(model.temperature):.2f}: validation log loss "
                      f"{before:.3f} → {after:.3f}")
    accelerator.wait_for_everyone()


def train(recipe: Recipe, resume: str | None = None, push_to_hub: str | None = None
          ) -> TrainResult:
    """Run one recipe end to end; returns where the best model and test scores went."""
    cfg = recipe.train
    output_dir = Path(cfg.output_dir)
    accelerator = Accelerator(
        cpu=cpu_data_parallel(),
        mixed_precision=cfg.mixed_precision,
        gradient_accumulation_steps=cfg.grad_accumulation,
        log_with=cfg.log_with or None,
        project_config=ProjectConfiguration(project_dir=str(output_dir),
                                            logging_dir=str(output_dir / "logs")),
        dataloader_config=DataLoaderConfiguration(use_seedable_sampler=True, data_seed=cfg.seed),
    )
    set_seed(cfg.seed)
    main = accelerator.is_main_process
    if main:
        output_dir.mkdir(parents=True, exist_ok=True)
        recipe.save(output_dir / "recipe.yaml")

    # Data: decoded once into the cache (main process first, the others then read the cache).
    with accelerator.main_process_first():
        prepared = prepare_data(recipe.data, progress=accelerator.is_local_main_process)
    id2label = dict(enumerate(prepared.label_names))
    train_loader = make_train_loader(prepared, recipe)

    # Model, optimiser, schedule.
    model = build_model(recipe.model, sample_rate=recipe.data.sample_rate, id2label=id2label,
                        chunk_seconds=recipe.data.crop_seconds)
    initial_filters = snapshot_filters(model)
    optimizer = torch.optim.AdamW(parameter_groups(model, cfg), weight_decay=cfg.weight_decay)
    scheduler = warmup_cosine(optimizer, cfg.warmup_steps, cfg.max_steps)
    class_weights = None
    if cfg.class_weights:
        class_weights = inverse_frequency_weights(prepared.dataset["train"]["label"],
                                                  len(id2label)).to(accelerator.device)
    model, optimizer, train_loader, scheduler = accelerator.prepare(
        model, optimizer, train_loader, scheduler)
    accelerator.init_trackers(recipe.name, config=flat_config(recipe))

    # Resume: weights, optimiser, scheduler and RNG states, then skip the consumed batches.
    step, best_f1, history, earlier_seconds = 0, -math.inf, [], 0.0
    checkpoint = resolve_resume(output_dir, resume)
    if checkpoint is not None:
        state = load_checkpoint(accelerator, checkpoint)
        step, best_f1, history = state["step"], state["best_f1"], state["history"]
        earlier_seconds = state.get("train_seconds", 0.0)  # a run's time spans its resumes
        if main:
            console.print(f"resumed from {checkpoint} at step {step}")

    best_dir = output_dir / "best"
    eval_loaders: dict[str, DataLoader] = {}
    batches_per_epoch = len(train_loader) // cfg.grad_accumulation
    started = time.perf_counter()
    clips_seen = 0
    model.train()
    with progress_bar("training", total=cfg.max_steps,
                      enabled=cfg.progress and accelerator.is_local_main_process) as advance:
        advance(step)
        while step < cfg.max_steps:
            epoch, done_in_epoch = divmod(step, batches_per_epoch)
            train_loader.set_epoch(epoch)  # the sampler's shuffle / balanced draws
            train_loader.dataset.set_epoch(epoch)  # the crops' offsets
            loader = accelerator.skip_first_batches(
                train_loader, done_in_epoch * cfg.grad_accumulation) if done_in_epoch else \
                train_loader
            for batch in loader:
                seed_step(cfg.seed, step, accelerator.process_index)
                with accelerator.accumulate(model):
                    waveform = random_gain(batch["waveform"], cfg.random_gain_db)
                    targets = torch.nn.functional.one_hot(batch["label"], len(id2label)).float()
                    waveform, targets = mixup(waveform, targets, cfg.mixup_alpha)
                    loss = soft_cross_entropy(model(waveform), targets, class_weights,
                                              cfg.label_smoothing)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and cfg.grad_clip > 0:
                        accelerator.clip_grad_norm_(model.parameters(), cfg.grad_clip)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad()
                clips_seen += len(waveform) * accelerator.num_processes
                if not accelerator.sync_gradients:
                    continue
                step += 1
                mean_loss = accelerator.reduce(loss.detach(), "mean").item()
                if not math.isfinite(mean_loss):
                    accelerator.end_training()
                    raise TrainingDiverged(
                        f"loss became {mean_loss} at step {step}; the last good checkpoint in "
                        f"{output_dir / 'checkpoints'} is kept (lower train.lr or raise "
                        f"train.grad_clip, then --resume latest)")
                accelerator.log({"train/loss": mean_loss,
                                 "train/lr": scheduler.get_last_lr()[0]}, step=step)
                advance(info=f"loss {mean_loss:.3f}")

                if step % cfg.eval_every == 0 or step == cfg.max_steps:
                    scores = evaluate_split(model, prepared, "validation", recipe, accelerator,
                                            eval_loaders)
                    elapsed = time.perf_counter() - started
                    row = {"step": step, "loss": mean_loss, **{
                        f"val_{k}": scores[k] for k in HEADLINE_METRICS},
                        "clips_per_second": clips_seen / max(elapsed, 1e-9)}
                    history.append(row)
                    accelerator.log({f"val/{k[4:]}": v for k, v in row.items()
                                     if k.startswith("val_")}, step=step)
                    if main:
                        console.print(
                            f"step {step:>6} · loss {mean_loss:.3f} · val acc "
                            f"{scores['accuracy']:.3f} · val macro-F1 {scores['macro_f1']:.3f} · "
                            f"val log loss {scores['log_loss']:.3f} · "
                            f"{row['clips_per_second']:.0f} clips/s")
                    if scores["macro_f1"] > best_f1:
                        best_f1 = scores["macro_f1"]
                        if main:
                            accelerator.unwrap_model(model).save_pretrained(best_dir)
                    accelerator.wait_for_everyone()
                if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
                    save_checkpoint(accelerator, output_dir, step, cfg.keep_checkpoints,
                                    {"best_f1": best_f1, "history": history,
                                     "train_seconds": earlier_seconds + time.perf_counter()
                                     - started})
                if step >= cfg.max_steps:
                    break

    # Score the best model on test at track level; write metrics, plots, model card.
    accelerator.wait_for_everyone()
    best = WaveformClassifier.from_pretrained(best_dir).to(accelerator.device)
    if cfg.calibrate and len(prepared.dataset["validation"]):
        calibrate_best(best, prepared, recipe, accelerator, eval_loaders, best_dir)
    test_scores = None
    if len(prepared.dataset["test"]):
        test_scores = evaluate_split(best, prepared, "test", recipe, accelerator,
                                     eval_loaders)
    if main:
        summary = {"steps": step, "best_val_macro_f1": best_f1, "history": history,
                   "temperature": float(best.temperature),
                   "num_processes": accelerator.num_processes,
                   "train_seconds": earlier_seconds + time.perf_counter() - started,
                   "skipped_files": len(prepared.skipped)}
        (output_dir / "train_summary.json").write_text(json.dumps(summary, indent=2))
        if test_scores is not None:
            paths = report(test_scores, output_dir, "test", console)
            console.print(f"test metrics: {paths['metrics']} · confusion: {paths['confusion']}")
        recipe.save(best_dir / "recipe.yaml")
        if initial_filters is not None:
            final_filters = snapshot_filters(best)
            save_filters(initial_filters, final_filters, output_dir)
            plot_filters(initial_filters, final_filters, output_dir / "filters.png",
                         recipe.data.sample_rate, recipe.model.frontend["name"])
        write_model_card(best_dir, recipe.to_dict(), test_scores)
        console.print(f"best model (val macro-F1 {best_f1:.3f}): {best_dir}")
        if push_to_hub:
            push_model(best_dir, push_to_hub)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return TrainResult(output_dir, best_dir, test_scores, step)


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


def add_train_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser.add_argument("recipe", help="YAML recipe (see recipes/)")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="dotted override, e.g. train.lr=3e-4")
    parser.add_argument("--resume", default=None,
                        help="'latest' or a checkpoint folder to continue from")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="push the best model to this Hub repository when done")
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe, args.overrides)
    try:
        train(recipe, resume=args.resume, push_to_hub=args.push_to_hub)
    except TrainingDiverged as error:
        print_error(error, label="training stopped")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_train_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    return run_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
