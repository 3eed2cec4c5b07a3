"""Learnable front-ends learn, stay valid, and a tiny model separates two signals."""

from __future__ import annotations

import math

import pytest
import torch

from waveform_mir.model import WaveformClassifier

SECOND = 16000


pytestmark = pytest.mark.usefixtures("single_thread")


def one_step(model: WaveformClassifier, lr: float = 1e-2) -> None:
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    waveform, labels = torch.randn(4, SECOND) * 0.1, torch.tensor([0, 1, 0, 1])
    torch.nn.functional.cross_entropy(model(waveform), labels).backward()
    optimiser.step()


def model_with(frontend: dict, kind: str = "2d") -> WaveformClassifier:
    backbone = {"name": "short_chunk_cnn", "width": 4} if kind == "2d" else {
        "name": "samplecnn", "channels": [8, 8, 8, 8, 16]}
    return WaveformClassifier(frontend, backbone, id2label={0: "a", 1: "b"})


@pytest.mark.parametrize(
    ("frontend", "kind"),
    [
        ({"name": "sinc_conv", "num_filters": 8}, "1d"),
        ({"name": "sinc_fbank", "num_filters": 8}, "2d"),
        ({"name": "leaf", "num_filters": 8}, "2d"),
        ({"name": "raw", "channels": 8}, "1d"),
        ({"name": "nnaudio_stft", "n_fft": 256}, "2d"),
        ({"name": "nnaudio_mel", "n_mels": 16, "trainable_stft": True}, "2d"),
        ({"name": "nnaudio_cqt", "f_min": 65.4, "n_bins": 24}, "2d"),
    ],
)
def test_every_frontend_parameter_changes_after_one_step(frontend: dict, kind: str) -> None:
    torch.manual_seed(0)
    model = model_with(frontend, kind)
    before = {n: p.detach().clone() for n, p in model.frontend.named_parameters()}
    assert before, "a learnable front-end must have parameters"
    one_step(model)
    for name, param in model.frontend.named_parameters():
        assert not torch.equal(param, before[name]), f"{frontend['name']}.{name} did not move"


def test_sinc_and_leaf_filters_move() -> None:
    for frontend in ({"name": "sinc_fbank", "num_filters": 8}, {"name": "leaf", "num_filters": 8}):
        model = model_with(frontend)
        start = model.frontend.learned_filters()
        one_step(model)
        end = model.frontend.learned_filters()
        assert not torch.allclose(start["center_hz"], end["center_hz"])
        assert not torch.allclose(start["bandwidth_hz"], end["bandwidth_hz"])


@pytest.mark.parametrize("name", ["sinc_conv", "leaf"])
def test_filters_stay_valid_under_a_huge_learning_rate(name: str) -> None:
    torch.manual_seed(0)
    model = model_with({"name": name, "num_filters": 8}, "1d" if name == "sinc_conv" else "2d")
    for _ in range(3):
        one_step(model, lr=10.0)
    filters = model.frontend.learned_filters()
    centre, bandwidth = filters["center_hz"], filters["bandwidth_hz"]
    assert (centre >= 0).all() and (centre <= SECOND / 2).all() and (bandwidth > 0).all()
    if name == "sinc_conv":
        assert (filters["low_hz"] > 0).all() and (filters["high_hz"] <= SECOND / 2).all()
    assert torch.isfinite(model(torch.randn(2, SECOND))).all()


def two_signals(batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Class 0: a low tone (220 Hz); class 1: high-passed noise bursts. Random gain/phase."""
    labels = torch.arange(batch) % 2
    t = torch.arange(SECOND // 2) / SECOND
    phase = torch.rand(batch, 1, generator=generator) * 2 * math.pi
    tone = torch.sin(2 * math.pi * 220 * t + phase)
    noise = torch.randn(batch, t.numel(), generator=generator)
    noise = noise - torch.roll(noise, 1, dims=-1)  # first difference: a high-frequency tilt
    gain = 0.05 + 0.3 * torch.rand(batch, 1, generator=generator)
    waveform = torch.where(labels.view(-1, 1) == 0, tone, noise * 0.5) * gain
    return waveform, labels


@pytest.mark.parametrize("frontend", ["mel", "leaf"])
def test_tiny_model_separates_two_signals(frontend: str) -> None:
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(0)
    model = WaveformClassifier(
        {"name": frontend, **({"n_mels": 32} if frontend == "mel" else {"num_filters": 16})},
        {"name": "short_chunk_cnn", "width": 4},
        head={"dropout": 0.0},
        id2label={0: "tone", 1: "noise"},
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        waveform, labels = two_signals(8, generator)
        loss = torch.nn.functional.cross_entropy(model(waveform), labels)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert sum(losses[-5:]) / 5 < 0.3 * sum(losses[:5]) / 5
    model.eval()
    waveform, labels = two_signals(16, generator)
    assert (model(waveform).argmax(dim=-1) == labels).float().mean() >= 0.9


@pytest.mark.parametrize("frontend", [
    {"name": "nnaudio_mel", "n_mels": 16},  # trainable_mel: weights may turn negative
    {"name": "nnaudio_stft", "n_fft": 256},
    {"name": "nnaudio_cqt", "f_min": 65.4, "n_bins": 24},
    {"name": "sinc_fbank", "num_filters": 8},
    {"name": "leaf", "num_filters": 8},
], ids=lambda f: f["name"])
def test_trainable_kernels_never_produce_nan(frontend: dict) -> None:
    torch.manual_seed(0)
    model = model_with(frontend)
    for _ in range(3):
        one_step(model, lr=0.05)
    assert torch.isfinite(model.eval()(torch.randn(2, SECOND) * 0.1)).all()
