"""Shared fixtures: audio files written on the spot, and the optional real-music folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from inference_helpers import trained_run

from waveform_mir.predict import Predictor

REALMUSIC = Path(__file__).resolve().parents[1].parent / "shared/data/realmusic"
MOODGENRE = Path(__file__).resolve().parents[1].parent / "shared/data/moodgenre"


def tone(freq: float, seconds: float, sample_rate: int, channels: int = 1) -> np.ndarray:
    """A sine at half scale, shape ``(samples,)`` or ``(samples, channels)``."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    wave = (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.repeat(wave[:, None], channels, axis=1)


def write_tone(
    path: Path, freq: float = 440.0, seconds: float = 1.0, sample_rate: int = 16000,
    channels: int = 1,
) -> Path:
    """Write a tone in the format named by ``path``'s suffix (WAV, FLAC, MP3, OGG)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(freq, seconds, sample_rate, channels), sample_rate)
    return path


@pytest.fixture
def realmusic() -> Path:
    """The team's real GTZAN clips (see SOURCES.md there); skipped when not checked out."""
    if not (REALMUSIC / "labels.csv").is_file():
        pytest.skip(f"real-music clips not present at {REALMUSIC} (shared data not checked out)")
    return REALMUSIC


@pytest.fixture
def moodgenre() -> Path:
    """The team's real clips with genre and mood tags (see SOURCES.md there); skipped when
    not checked out."""
    if not (MOODGENRE / "labels.csv").is_file():
        pytest.skip(f"mood/genre clips not present at {MOODGENRE} (shared data not checked out)")
    return MOODGENRE


@pytest.fixture(scope="module")
def single_thread():
    """Tiny tensors: one thread avoids oversubscription stalls on shared CI cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    """One small model really trained on synthetic genres, shared by predict and demo tests."""
    return trained_run(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def predictor(run_dir) -> Predictor:
    return Predictor.from_pretrained(run_dir)
