"""Self-supervised pretraining: the objective against hand arithmetic, the views against their
source tracks, the data against test leakage, and fine-tuning against silent re-initialisation.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
import yaml

from waveform_mir.config import ModelConfig, PretrainConfig, Recipe, RecipeError, TrainConfig
from waveform_mir.data.unlabelled import audio_files_manifest
from waveform_mir.model import build_model
from waveform_mir.pretraining import (
    ContrastiveEncoder,
    ViewMaker,
    build_encoder,
    nt_xent,
    pair_accuracy,
)
from waveform_mir.pretraining.views import content_bounds
from waveform_mir.training.optimisation import build_optimizer, build_scheduler
from waveform_mir.training.warm_start import warm_start

SAMPLE_RATE = 8000
QUIET = {"gain_db": 0.0, "polarity": 0.0, "noise": 0.0, "filter": 0.0}


def _unit(degrees: float) -> list[float]:
    return [math.cos(math.radians(degrees)), math.sin(math.radians(degrees))]


def test_nt_xent_and_pair_accuracy_match_hand_computed_values():
    # Views 0, 1 (first views of tracks A, B) and 2, 3 (their second views) at 0°, 90°, 60°
    # and 180°; lengths differ, which the cosine must ignore. Cosines: (0,1) 0, (0,2) 1/2,
    # (0,3) -1, (1,2) √3/2, (1,3) 0, (2,3) -1/2. At temperature 1/2 the logits double them.
    views = torch.tensor([_unit(0), _unit(90), _unit(60), _unit(180)])
    views = views * torch.tensor([[1.0], [3.0], [0.5], [2.0]])
    root3 = math.sqrt(3)
    losses = [
        -1 + math.log(math.exp(0) + math.exp(1) + math.exp(-2)),  # A's view 0, partner 2
        -0 + math.log(math.exp(0) + math.exp(root3) + math.exp(0)),  # B's view 1, partner 3
        -1 + math.log(math.exp(1) + math.exp(root3) + math.exp(-1)),  # A's view 2, partner 0
        -0 + math.log(math.exp(-2) + math.exp(0) + math.exp(-1)),  # B's view 3, partner 1
    ]
    assert nt_xent(views, temperature=0.5).item() == pytest.approx(sum(losses) / 4, rel=1e-6)
    # nearest other view: 0 → 2 (its partner), 1 → 2 (not 3), 2 → 1 (not 0), 3 → 1 (partner)
    assert pair_accuracy(views).item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match="even number"):
        nt_xent(views[:3])


def _find(view: np.ndarray, span: np.ndarray) -> int | None:
    """Where ``view`` sits in ``span`` sample for sample, or None."""
    for offset in range(len(span) - len(view) + 1):
        if np.array_equal(span[offset:offset + len(view)], view):
            return offset
    return None


def test_two_views_are_different_excerpts_of_one_track():
    generator = torch.Generator().manual_seed(0)
    spans = torch.randn(4, 2000, generator=generator)  # four tracks, each its own noise
    maker = ViewMaker(500, SAMPLE_RATE, speed=0.0, **QUIET)
    views = maker(spans, torch.Generator().manual_seed(1)).numpy()
    for track in range(4):
        first = _find(views[track], spans[track].numpy())
        second = _find(views[track + 4], spans[track].numpy())
        assert first is not None and second is not None  # both cut from their own track
        assert first != second  # and at different offsets
        others = [t for t in range(4) if t != track]
        assert all(_find(views[track], spans[t].numpy()) is None for t in others)


def test_augmented_views_still_belong_to_their_track():
    # Each track a pure tone; after speed changes (±10 %), filters, noise, gain and polarity
    # every view's strongest frequency is still nearest its own track's tone.
    tones = torch.tensor([300.0, 800.0, 1800.0, 3200.0])
    t = torch.arange(8000) / SAMPLE_RATE
    spans = torch.sin(2 * torch.pi * tones[:, None] * t)
    maker = ViewMaker(2000, SAMPLE_RATE, speed=1.0, max_speed=1.1, noise=1.0, filter=1.0,
                      filter_hz=(200.0, 3000.0))
    views = maker(spans, torch.Generator().manual_seed(2))
    peaks = torch.fft.rfftfreq(2000, 1 / SAMPLE_RATE)[torch.fft.rfft(views).abs().argmax(-1)]
    nearest = (peaks[:, None] - tones[None]).abs().argmin(-1)
    assert nearest.tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert not torch.allclose(views[:4], views[4:], atol=1e-3)  # the pair differs


def test_views_of_a_short_clip_never_miss_it():
    # a 0.1 s clip zero-padded into a 1 s span at an offset: every view holds all of it
    spans = torch.zeros(8, 8000)
    clip = torch.rand(800) + 0.5
    spans[:, 3000:3800] = clip
    first, stop = content_bounds(spans)
    assert first.tolist() == [3000] * 8 and stop.tolist() == [3800] * 8
    views = ViewMaker(2000, SAMPLE_RATE, speed=0.0, **QUIET)(spans)
    assert all(_find(clip.numpy(), view.numpy()) is not None for view in views)


def _write(path: Path, seconds: float = 0.5) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.random.default_rng(0).uniform(-0.3, 0.3, int(seconds * 8000)), 8000)
    return str(path)


def test_audio_files_takes_bare_folders_and_never_a_test_clip(tmp_path):
    labelled = tmp_path / "labelled"
    rows = [("a.wav", "train"), ("b.wav", "validation"), ("c.wav", "test"), ("d.wav", "extra")]
    for name, _ in rows:
        _write(labelled / name)
    (labelled / "labels.csv").write_text(
        "path,split\n" + "".join(f"{name},{split}\n" for name, split in rows))
    bare = tmp_path / "bare"
    nested = [_write(bare / "x" / "e.wav"), _write(bare / "f.flac")]
    manifest = audio_files_manifest([str(labelled), str(bare)], validation_fraction=0.0)
    paths = {Path(p).name for split in manifest.splits.values() for p in split["path"]}
    assert paths == {"a.wav", "b.wav", "d.wav", "e.wav", "f.flac"}  # c.wav is a test clip
    assert {Path(p).name for p in nested} <= paths
    assert list(manifest.dropped.values()) == [1]
    assert manifest.label_names == ["unlabelled"]
    with pytest.raises(ValueError, match="refuses use_splits 'test'"):
        audio_files_manifest([str(labelled)], use_splits=["train", "test"])
    held_out = audio_files_manifest([str(labelled), str(bare)], validation_fraction=0.4)
    assert len(held_out.splits["validation"]) == 2 and len(held_out.splits["train"]) == 3


def _encoder(seed: int) -> ContrastiveEncoder:
    torch.manual_seed(seed)
    encoder = ContrastiveEncoder({"name": "mel", "n_mels": 32},
                                 {"name": "short_chunk_cnn", "width": 4}, projection_dim=16,
                                 sample_rate=SAMPLE_RATE, pretraining={"source": "test"})
    for module in encoder.modules():  # statistics a fresh model would not have
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-1, 1)
    return encoder


def test_fine_tuning_loads_every_pretrained_weight_and_learns_it_slower(tmp_path):
    _encoder(seed=1).save_pretrained(tmp_path / "encoder")
    donor = ContrastiveEncoder.from_pretrained(tmp_path / "encoder")
    assert donor.pretraining == {"source": "test"}
    torch.manual_seed(2)
    model = build_model(ModelConfig(frontend={"name": "mel", "n_mels": 32},
                                    backbone={"name": "short_chunk_cnn", "width": 4}),
                        sample_rate=SAMPLE_RATE, id2label={0: "a", 1: "b"})
    report = warm_start(model, str(tmp_path / "encoder"))
    assert not report.missing and not report.mismatched
    theirs = donor.state_dict()
    for name, tensor in model.state_dict().items():
        if name.startswith(("frontend.", "backbone.")):
            assert name in report.copied and torch.equal(tensor, theirs[name]), name
        else:
            assert name not in report.copied  # the classifier head and calibration stay fresh
    cfg = TrainConfig(lr=1e-3, warmup_steps=0, max_steps=100, init_from="x",
                      pretrained_lr_scale=0.1, pretrained_freeze_steps=10)
    optimizer = build_optimizer(model, cfg, frozenset(report.copied))
    scheduler = build_scheduler(optimizer, cfg)
    groups = {group["name"]: group for group in optimizer.param_groups}
    pretrained = {id(p) for name in groups if name.startswith("pretrained_")
                  for p in groups[name]["params"]}
    assert pretrained == {id(p) for n, p in model.named_parameters() if n in report.copied}
    assert groups["pretrained_decay"]["lr"] == 0.0 and groups["decay"]["lr"] == 1e-3
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    assert groups["pretrained_decay"]["lr"] == pytest.approx(1e-4 * groups["decay"]["lr"] / 1e-3)


def test_a_fine_tuning_schedule_needs_a_model_to_fine_tune():
    from waveform_mir.config import recipe_from_dict

    with pytest.raises(RecipeError, match="set train.init_from"):
        recipe_from_dict({"train": {"pretrained_lr_scale": 0.1}})
    assert isinstance(Recipe().pretrain, PretrainConfig)


def _pretraining_recipe(tmp_path: Path) -> Path:
    """Four synthetic genres (labels never read by pretraining), a small mel CNN."""
    recipe = {
        "name": "tiny-pretrain",
        "data": {"source": "synthetic", "sample_rate": SAMPLE_RATE, "crop_seconds": 1.0,
                 "cache_dir": str(tmp_path / "cache"),
                 "options": {"num_per_class": {"train": 24, "validation": 4, "test": 12},
                             "seconds": 3.0, "seed": 3,
                             "genres": ["house", "ambient", "metal", "reggae"]}},
        "model": {"frontend": {"name": "mel", "n_mels": 32, "n_fft": 256, "hop_length": 128},
                  "backbone": {"name": "short_chunk_cnn", "width": 8}},
        "train": {"output_dir": str(tmp_path / "pretrain"), "max_steps": 200, "batch_size": 16,
                  "lr": 2e-3, "warmup_steps": 10, "eval_every": 50, "checkpoint_every": 50,
                  "log_with": [], "progress": False},
        "pretrain": {"projection_dim": 32, "span_seconds": 3.0, "temperature": 0.2},
    }
    path = tmp_path / "pretrain.yaml"
    path.write_text(yaml.safe_dump(recipe))
    return path


def _probe_accuracy(encoder: ContrastiveEncoder, recipe: Recipe) -> float:
    """Test accuracy of a logistic regression on the encoder's track embeddings (mean over
    one-second chunks) of the labelled train split."""
    from sklearn.linear_model import LogisticRegression

    from waveform_mir.data import ChunkDataset, prepare_dataset

    prepared = prepare_dataset(recipe.data, progress=False)
    encoder.eval()

    def embeddings(split: str) -> tuple[np.ndarray, np.ndarray]:
        chunks = ChunkDataset(prepared.dataset[split], SAMPLE_RATE, SAMPLE_RATE)
        waves = torch.stack([chunks[i]["waveform"] for i in range(len(chunks))])
        with torch.no_grad():
            vectors = encoder.embed(waves).numpy()
        per_track = np.stack([vectors[chunks.track_of_chunk == t].mean(0)
                              for t in range(chunks.num_tracks)])
        return per_track, np.asarray(chunks.track_labels)

    train_x, train_y = embeddings("train")
    test_x, test_y = embeddings("test")
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    probe = LogisticRegression(max_iter=2000).fit((train_x - mean) / std, train_y)
    return float(probe.score((test_x - mean) / std, test_y))


def test_pretraining_resumes_and_its_embeddings_beat_a_random_encoders(tmp_path):
    pytest.importorskip("sklearn", reason="the probe needs the 'baseline' extra")
    from waveform_mir.cli import main
    from waveform_mir.config import load_recipe

    path = _pretraining_recipe(tmp_path)
    assert main(["pretrain", str(path), "--set", "train.max_steps=50"]) == 0
    assert main(["pretrain", str(path), "--resume", "latest"]) == 0  # 50 → 200
    summary = json.loads((tmp_path / "pretrain/pretrain_summary.json").read_text())
    assert summary["steps"] == 200  # the evaluations before the resume are kept
    assert [row["step"] for row in summary["history"]] == [50, 100, 150, 200]
    assert summary["pretraining"]["source"] == "synthetic"
    recipe = load_recipe(path)
    pretrained = ContrastiveEncoder.from_pretrained(tmp_path / "pretrain/best")
    torch.manual_seed(0)
    random_init = build_encoder(recipe, {})
    learned, chance = _probe_accuracy(pretrained, recipe), _probe_accuracy(random_init, recipe)
    print(f"probe accuracy: pretrained {learned:.3f}, random init {chance:.3f}")
    assert learned >= chance + 0.15


def test_pretraining_starts_from_a_supervised_model_and_records_it(tmp_path):
    """train.init_from in a pretraining recipe copies the donor's front-end and backbone into
    the encoder (held at lr 0 here by the fine-tuning schedule, so they must still equal the
    donor's after the run) and the encoder's card names the donor."""
    from waveform_mir.cli import main

    path = _pretraining_recipe(tmp_path)
    torch.manual_seed(5)
    donor = build_model(ModelConfig(frontend={"name": "mel", "n_mels": 32, "n_fft": 256,
                                              "hop_length": 128},
                                    backbone={"name": "short_chunk_cnn", "width": 8}),
                        sample_rate=SAMPLE_RATE, id2label={0: "a", 1: "b", 2: "c"})
    donor.save_pretrained(tmp_path / "donor")
    assert main(["pretrain", str(path), "--set", "train.max_steps=4",
                 "--set", "train.eval_every=2", "--set", f"train.init_from={tmp_path / 'donor'}",
                 "--set", "train.pretrained_freeze_steps=4"]) == 0
    encoder = ContrastiveEncoder.from_pretrained(tmp_path / "pretrain/best")
    assert encoder.pretraining["init_from"] == str(tmp_path / "donor")
    theirs = donor.state_dict()
    copied = {name: tensor for name, tensor in encoder.named_parameters()
              if name.startswith(("frontend.", "backbone."))}
    assert copied
    for name, tensor in copied.items():
        assert torch.equal(tensor, theirs[name]), name


@pytest.mark.slow
def test_pretraining_runs_under_accelerate_launch_with_two_processes(tmp_path):
    """Two real CPU processes over gloo: each contrasts its own batch, the schedule and the
    checkpoints are the loop's, and one encoder is written."""
    path = _pretraining_recipe(tmp_path)
    command = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu",
               "--num_processes", "2", "--num_machines", "1", "--mixed_precision", "no",
               "--dynamo_backend", "no", "-m", "waveform_mir.pretrain", str(path),
               "--set", "train.max_steps=6", "--set", "train.eval_every=3",
               "--set", "train.checkpoint_every=3"]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    summary = json.loads((tmp_path / "pretrain/pretrain_summary.json").read_text())
    assert summary["steps"] == 6 and len(summary["history"]) == 2
    assert all(np.isfinite(row["val_contrastive_loss"]) for row in summary["history"])
    encoder = ContrastiveEncoder.from_pretrained(tmp_path / "pretrain/best")
    assert encoder.embed(torch.zeros(2, SAMPLE_RATE)).shape == (2, encoder.backbone.embedding_dim)
