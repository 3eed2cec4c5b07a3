"""Unbalanced data in a real training run: balanced sampling draws the classes evenly, class
weights weigh the rare class up; each against the plain run that does neither."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from waveform_mir.config import load_recipe
from waveform_mir.data.synthetic import render_clip
from waveform_mir.train import train
from waveform_mir.training import loop as loop_module

REPO = Path(__file__).resolve().parents[1]
COUNTS = {"metal": 24, "ambient": 6}  # training clips per genre: 4 to 1
REAL_LOSS = loop_module.training_loss


@pytest.fixture(scope="module")
def unbalanced(tmp_path_factory) -> Path:
    """A folder of 1 s clips, 24 metal and 6 ambient in train, 2 of each in validation/test."""
    root = tmp_path_factory.mktemp("unbalanced")
    rows = []
    for genre, count in COUNTS.items():
        for split, n in (("train", count), ("validation", 2), ("test", 2)):
            for i in range(n):
                path = root / genre / f"{split}{i}.wav"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, render_clip(genre, seed=hash((split, i)) % 1000, seconds=1.0,
                                           sample_rate=8000), 8000)
                rows.append({"path": str(path.relative_to(root)), "label": genre,
                             "split": split})
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, ["path", "label", "split"])
        writer.writeheader()
        writer.writerows(rows)
    return root


def _run(root: Path, out: Path, monkeypatch, *overrides: str) -> tuple[np.ndarray, list]:
    """Train 8 steps; return every label the loss saw and the loss weights it was given."""
    seen, weights = [], []

    def recording(model, batch, cfg, task, num_classes, loss_weights):
        seen.append(batch["label"].numpy().copy())
        weights.append(loss_weights)
        return REAL_LOSS(model, batch, cfg, task, num_classes, loss_weights)

    monkeypatch.setattr(loop_module, "training_loss", recording)
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml", [
        "data.source=folder", f"data.options={{root: {root}}}", "data.sample_rate=8000",
        "data.crop_seconds=1.0", f"data.cache_dir={out / 'cache'}",
        f"train.output_dir={out / 'run'}", "train.max_steps=8", "train.batch_size=10",
        "train.eval_every=1000", "train.checkpoint_every=1000", "train.log_with=[]",
        "train.progress=false", "train.calibrate=false", "train.warmup_steps=2",
        "model.backbone={name: short_chunk_cnn, width: 4}", *overrides])
    train(recipe)
    return np.concatenate(seen), weights


@pytest.mark.slow
def test_balanced_sampling_draws_the_classes_evenly(unbalanced, tmp_path, monkeypatch):
    plain, _ = _run(unbalanced, tmp_path / "plain", monkeypatch)
    balanced, _ = _run(unbalanced, tmp_path / "balanced", monkeypatch,
                       "data.balanced_sampling=true")
    ambient = 0  # label ids follow sorted names: ambient, metal
    assert abs((plain == ambient).mean() - 0.2) < 0.08  # the data's own 1 in 5
    assert abs((balanced == ambient).mean() - 0.5) < 0.15  # one in two


@pytest.mark.slow
def test_class_weights_weigh_the_rare_class_up(unbalanced, tmp_path, monkeypatch):
    _, plain = _run(unbalanced, tmp_path / "plain", monkeypatch)
    _, weighted = _run(unbalanced, tmp_path / "weighted", monkeypatch, "train.class_weights=true")
    assert all(w is None for w in plain)
    ambient, metal = weighted[0].tolist()
    assert ambient / metal == pytest.approx(24 / 6)  # inverse training frequency
    assert (ambient + metal) / 2 == pytest.approx(1.0)  # mean 1 over classes
