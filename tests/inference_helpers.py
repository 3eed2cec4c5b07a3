"""A tiny genre model trained once per test session, and clips to score with it.

Predict and demo tests need answers that mean something ("this metal clip is metal"), so the
model is really trained, through the package's own training loop, on four easy synthetic
genres at 8 kHz with 1 s crops: about 15 s on two CPU cores. The run folder is cached under
pytest's session temp dir, so the predict and demo test modules share one training.
"""

from __future__ import annotations

from pathlib import Path

import soundfile as sf

from waveform_mir.config import DataConfig, ModelConfig, Recipe, TrainConfig
from waveform_mir.data.synthetic import render_clip

GENRES = ("metal", "classical", "house", "ambient")
SAMPLE_RATE = 8000
CROP_SECONDS = 1.0
CLIP_RATE = 22050  # files are written at a common MP3 rate, so decoding resamples


def tiny_recipe(root: Path) -> Recipe:
    return Recipe(
        name="tiny-genres",
        data=DataConfig(
            source="synthetic", sample_rate=SAMPLE_RATE, crop_seconds=CROP_SECONDS,
            options={"num_per_class": {"train": 16, "validation": 2, "test": 4},
                     "seconds": 3.0, "genres": list(GENRES)},
            cache_dir=str(root / "cache")),
        model=ModelConfig(
            frontend={"name": "mel", "n_fft": 256, "hop_length": 128, "n_mels": 40},
            backbone={"name": "short_chunk_cnn", "channels": [8, 16, 16, 32, 32]}),
        train=TrainConfig(
            output_dir=str(root / "run"), max_steps=40, batch_size=16, lr=3e-3, warmup_steps=5,
            eval_every=1000, checkpoint_every=1000, log_with=[], progress=False),
    )


def trained_run(base: Path) -> Path:
    """The training run folder (model in ``best/``), trained on first use under ``base``."""
    root = base / "tiny-genre-model"
    run = root / "run"
    if not (run / "best" / "config.json").is_file():
        from waveform_mir.train import train

        train(tiny_recipe(root))
    return run


def write_clip(path: Path, genre: str, seed: int, seconds: float = 4.0) -> Path:
    """A synthetic ``genre`` clip written in the format of ``path``'s suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, render_clip(genre, seed, seconds, CLIP_RATE), CLIP_RATE)
    return path
