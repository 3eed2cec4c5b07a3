"""Training end to end on a small synthetic set: it learns, resumes exactly, round-trips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from waveform_mir.config import load_recipe
from waveform_mir.data.synthetic import render_clip
from waveform_mir.model import WaveformClassifier, build_model
from waveform_mir.predict import embed_file, predict_file
from waveform_mir.train import push_model, train
from waveform_mir.training.checkpoints import list_checkpoints
from waveform_mir.training.loop import TrainingDiverged
from waveform_mir.training.losses import LOSSES
from waveform_mir.training.optimisation import parameter_groups

REPO = Path(__file__).resolve().parents[1]
QUICK = [
    "data.sample_rate=8000", "data.crop_seconds=1.0",
    "data.options.num_per_class={train: 24, validation: 4, test: 8}",
    "train.batch_size=16", "train.eval_every=1000", "train.checkpoint_every=1000",
    "train.log_with=[]", "train.progress=false", "train.warmup_steps=5",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    """One decoded cache for the module: every run here reads the same synthetic clips."""
    return tmp_path_factory.mktemp("cache")


def small_recipe(cache: Path, out: Path, *overrides: str):
    """The quickstart recipe shrunk to seconds: 8 kHz, 1 s crops, fewer clips."""
    return load_recipe(REPO / "recipes" / "quickstart.yaml", [
        *QUICK, f"data.cache_dir={cache}", f"train.output_dir={out}", *overrides])


@pytest.mark.slow
def test_training_learns_and_reloads(tmp_path, cache_dir):
    recipe = small_recipe(cache_dir, tmp_path, "train.max_steps=120", "train.eval_every=60")
    result = train(recipe)
    scores = result.test_scores
    chance = 1 / len(scores["label_names"])
    assert scores["accuracy"] > max(0.6, 3 * chance), scores
    for name in ("metrics_test.json", "confusion_test.png", "train_summary.json", "recipe.yaml"):
        assert (result.output_dir / name).is_file(), name
    assert (result.best_model_dir / "README.md").read_text().count("accuracy") >= 1

    # from_pretrained of the trained run predicts exactly what a fresh evaluation predicts
    model = WaveformClassifier.from_pretrained(result.best_model_dir).eval()
    again = WaveformClassifier.from_pretrained(result.best_model_dir).eval()
    clip = torch.randn(3, 8000)
    with torch.no_grad():
        torch.testing.assert_close(model(clip), again(clip))
    assert model.id2label == {i: n for i, n in enumerate(scores["label_names"])}
    assert model.chunk_seconds == 1.0  # the crop length travels inside the checkpoint
    summary = json.loads((result.output_dir / "train_summary.json").read_text())
    assert float(model.temperature) == pytest.approx(summary["temperature"])  # fitted, saved

    # the Python API on a real MP3 file: a full distribution over the model's genres
    song = tmp_path / "song.mp3"
    sf.write(song, render_clip("metal", seed=123, seconds=3.0, sample_rate=8000), 8000)
    genres = predict_file(model, song)
    assert set(genres) == set(scores["label_names"])
    assert sum(genres.values()) == pytest.approx(1.0, abs=1e-5)
    assert embed_file(model, song).shape == (model.head.embed(model.features(clip[:1])).shape[1],)


@pytest.mark.slow
def test_resume_matches_an_uninterrupted_run(tmp_path, cache_dir):
    common = ["train.max_steps=12", "train.checkpoint_every=4", "train.eval_every=6",
              "train.keep_checkpoints=5", "train.mixup_alpha=0.2", "train.random_gain_db=3"]
    straight = train(small_recipe(cache_dir, tmp_path / "a", *common))

    crashed = train(small_recipe(cache_dir, tmp_path / "b", *common))
    _forget_after(crashed.output_dir, step=8)  # as if the run had died during step 9
    before = json.loads((list_checkpoints(crashed.output_dir)[-1] / "trainer_state.json")
                        .read_text())["train_seconds"]
    resumed = train(small_recipe(cache_dir, tmp_path / "b", *common), resume="latest")
    assert resumed.steps == straight.steps == 12
    summary = json.loads((resumed.output_dir / "train_summary.json").read_text())
    assert summary["train_seconds"] > before > 0  # the time before the crash still counts

    final_a = load_file(list_checkpoints(straight.output_dir)[-1] / "model.safetensors")
    final_b = load_file(list_checkpoints(resumed.output_dir)[-1] / "model.safetensors")
    assert final_a.keys() == final_b.keys()
    for key in final_a:
        torch.testing.assert_close(final_a[key], final_b[key], rtol=1e-4, atol=1e-5)


def _forget_after(output_dir: Path, step: int) -> None:
    """Leave only what a run that died after ``step`` steps would have left behind."""
    for checkpoint in list_checkpoints(output_dir):
        if int(checkpoint.name.removeprefix("step_")) > step:
            shutil.rmtree(checkpoint)
    (output_dir / "train_summary.json").unlink()


@pytest.mark.slow
def test_accelerate_launch_two_processes(tmp_path, cache_dir):
    """Two real CPU processes over gloo; every test track is scored exactly once."""
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        "-m", "waveform_mir.train", str(REPO / "recipes" / "quickstart.yaml"),
        *[arg for item in QUICK for arg in ("--set", item)],
        "--set", "train.max_steps=6", "--set", "train.eval_every=3",
        "--set", f"data.cache_dir={cache_dir}", "--set", f"train.output_dir={out}",
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["num_processes"] == 2
    metrics = json.loads((out / "metrics_test.json").read_text())
    test_size = sum(row["support"] for row in metrics["per_class"].values())
    recipe = load_recipe(out / "recipe.yaml")
    from waveform_mir.data import prepare_dataset

    assert metrics["num_examples"] == test_size == len(prepare_dataset(recipe.data).dataset["test"])


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, cache_dir, monkeypatch):
    real_loss = LOSSES["single_label"]
    calls = {"n": 0}

    def diverging_loss(*args, **kwargs):
        calls["n"] += 1
        loss = real_loss(*args, **kwargs)
        return loss * float("nan") if calls["n"] > 5 else loss

    common = ["train.max_steps=10", "train.checkpoint_every=4", "train.eval_every=100"]
    monkeypatch.setitem(LOSSES, "single_label", diverging_loss)
    with pytest.raises(TrainingDiverged, match="loss became nan at step 6"):
        train(small_recipe(cache_dir, tmp_path, *common))
    kept = list_checkpoints(tmp_path)
    assert [p.name for p in kept] == ["step_0000004"]

    monkeypatch.setitem(LOSSES, "single_label", real_loss)
    resumed = train(small_recipe(cache_dir, tmp_path, *common), resume="latest")
    assert resumed.steps == 10 and resumed.test_scores is not None


def test_push_to_hub_failures_are_one_clear_message(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # no stored token either
    with pytest.raises(SystemExit, match="no token.*hf upload user/model"):
        push_model(tmp_path, "user/model")
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # loopback port with no server
    with pytest.raises(SystemExit, match="could not push .* model stays saved"):
        push_model(tmp_path, "user/model")


def test_frontend_learning_rate_is_scaled_in_its_own_group():
    recipe = load_recipe(REPO / "recipes" / "quickstart.yaml",
                         ["model.frontend={name: nnaudio_mel, n_mels: 16}",
                          "train.lr=0.01", "train.frontend_lr_scale=0.1"])
    model = build_model(recipe.model, sample_rate=16000, id2label={0: "a", 1: "b"})
    groups = parameter_groups(model, recipe.train)
    assert {g["name"]: g["lr"] for g in groups} == {
        "decay": pytest.approx(0.01), "no_decay": pytest.approx(0.01),
        "frontend": pytest.approx(0.001)}
    grouped = sum(p.numel() for g in groups for p in g["params"])
    assert grouped == sum(p.numel() for p in model.parameters() if p.requires_grad)
