"""The training protocol is the same whatever the process count, accumulation or input level.

Each test here compares a mechanism with what a wrong version of it would do: the
two-process learning-rate curve against the one-process curve, the micro-batches of one
accumulation window against each other, decayed against undecayed parameters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from waveform_mir.config import RecipeError, load_recipe
from waveform_mir.model import build_model
from waveform_mir.train import train
from waveform_mir.training import loop as loop_module
from waveform_mir.training.optimisation import build_optimizer, build_scheduler

REPO = Path(__file__).resolve().parents[1]
QUICK = [
    "data.sample_rate=8000", "data.crop_seconds=1.0",
    "data.options.num_per_class={train: 24, validation: 4, test: 4}",
    "train.batch_size=8", "train.eval_every=1000", "train.checkpoint_every=1000",
    "train.progress=false", "train.warmup_steps=4", "train.max_steps=10",
    "train.calibrate=false", "model.backbone={name: short_chunk_cnn, width: 4}",
    "model.frontend={name: mel, n_mels: 32}",
]


def logged_scalars(run_dir: Path, tag: str) -> dict[int, float]:
    """Step → value of ``tag`` from a run's tensorboard event files."""
    values: dict[int, float] = {}
    for events in sorted((run_dir / "logs").rglob("events.out.tfevents.*")):
        accumulator = EventAccumulator(str(events.parent))
        accumulator.Reload()
        if tag in accumulator.Tags()["scalars"]:
            values.update({e.step: e.value for e in accumulator.Scalars(tag)})
    return values


@pytest.mark.slow
def test_two_processes_follow_the_one_process_learning_rate_curve(tmp_path):
    """accelerate's prepared scheduler stepped once per process: a two-process run then
    warmed up in half the steps and spent the second half of its budget at lr 0."""
    common = [*QUICK, f"data.cache_dir={tmp_path / 'cache'}", "train.log_with=[tensorboard]"]
    single = tmp_path / "single"
    train(load_recipe(REPO / "recipes" / "quickstart.yaml",
                      [*common, f"train.output_dir={single}"]))
    double = tmp_path / "double"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "waveform_mir.train", str(REPO / "recipes" / "quickstart.yaml"),
        *[arg for item in [*common, f"train.output_dir={double}"] for arg in ("--set", item)],
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    one, two = logged_scalars(single, "train/lr"), logged_scalars(double, "train/lr")
    assert sorted(one) == sorted(two) == list(range(1, 11))
    np.testing.assert_allclose([two[s] for s in sorted(two)], [one[s] for s in sorted(one)],
                               rtol=1e-6)
    assert min(two.values()) > 0  # no step of the budget is spent at lr 0
    assert max(two, key=two.get) == 4  # warm-up peaks where the recipe says, not earlier


def test_micro_batches_of_one_window_draw_their_own_augmentation(tmp_path, monkeypatch):
    """Seeding per optimiser step gave every micro-batch of an accumulation window the same
    gains, mixup pairs, masks and dropout; each must draw its own."""
    real_gain = loop_module.random_gain
    gains: list[np.ndarray] = []

    def recording_gain(waveform: torch.Tensor, max_db: float) -> torch.Tensor:
        out = real_gain(waveform, max_db)
        peak = waveform.abs().argmax(dim=1, keepdim=True)
        gains.append((out.gather(1, peak) / waveform.gather(1, peak)).squeeze(1).numpy())
        return out

    monkeypatch.setattr(loop_module, "random_gain", recording_gain)
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml", [
        *QUICK, f"data.cache_dir={tmp_path / 'cache'}", f"train.output_dir={tmp_path / 'run'}",
        "train.log_with=[]", "train.max_steps=3", "train.grad_accumulation=2",
        "train.random_gain_db=6", "train.batch_size=4"])
    train(recipe)
    assert len(gains) == 6  # 3 optimiser steps × 2 micro-batches
    for first, second in zip(gains[0::2], gains[1::2], strict=True):
        assert not np.allclose(first, second), "micro-batches of one window drew the same gains"


def _optimised(frontend: dict, **train_values) -> tuple[torch.nn.Module, torch.optim.Optimizer,
                                                        torch.optim.lr_scheduler.LambdaLR]:
    overrides = [f"train.{key}={value}" for key, value in train_values.items()]
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml", overrides)
    recipe.model.frontend = frontend
    recipe.model.backbone = {"name": "short_chunk_cnn", "width": 4}
    model = build_model(recipe.model, sample_rate=16000, id2label={0: "a", 1: "b"})
    optimizer = build_optimizer(model, recipe.train)
    return model, optimizer, build_scheduler(optimizer, recipe.train)


def test_weight_decay_spares_norms_biases_and_frontend_parameters():
    """With zero gradients only decay moves a weight: backbone kernels must shrink, while
    batch-norm scales, biases and the filterbank's cut-offs and PCEN constants stay put."""
    model, optimizer, scheduler = _optimised({"name": "leaf", "num_filters": 8},
                                             lr=0.1, weight_decay=0.5, warmup_steps=0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for _ in range(5):
        for parameter in model.parameters():
            parameter.grad = torch.zeros_like(parameter)
        optimizer.step()
        scheduler.step()
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    frontend = {name for name in before if name.startswith("frontend.")}
    norms_and_biases = {name for name, p in before.items()
                        if p.ndim < 2 and not name.startswith("frontend.")}
    kernels = {name for name, p in before.items()
               if p.ndim >= 2 and not name.startswith("frontend.")}
    assert frontend and norms_and_biases and kernels
    assert not moved & frontend, sorted(moved & frontend)
    assert not moved & norms_and_biases, sorted(moved & norms_and_biases)
    assert kernels <= moved
    for name in kernels:
        assert before[name].norm() > dict(model.named_parameters())[name].norm()


def test_frontend_is_frozen_for_its_warm_up_then_follows_the_schedule():
    model, optimizer, scheduler = _optimised(
        {"name": "sinc_fbank", "num_filters": 8}, lr=0.01, warmup_steps=4,
        frontend_freeze_steps=3, frontend_lr_scale=0.5, max_steps=20)
    rates = []
    for _ in range(6):
        rates.append({g["name"]: g["lr"] for g in optimizer.param_groups})
        optimizer.step()
        scheduler.step()
    assert [r["frontend"] for r in rates[:3]] == [0.0, 0.0, 0.0]
    assert rates[3]["frontend"] > 0
    assert rates[3]["frontend"] == pytest.approx(0.5 * rates[3]["decay"])
    assert [r["decay"] for r in rates[:4]] == pytest.approx([0.0025, 0.005, 0.0075, 0.01])


def test_class_weights_and_balanced_sampling_together_are_refused():
    with pytest.raises(RecipeError, match="correct it twice"):
        load_recipe(REPO / "recipes" / "quickstart.yaml",
                    ["train.class_weights=true", "data.balanced_sampling=true"])
    # either alone is fine
    load_recipe(REPO / "recipes" / "quickstart.yaml", ["train.class_weights=true"])
    load_recipe(REPO / "recipes" / "quickstart.yaml", ["data.balanced_sampling=true"])
