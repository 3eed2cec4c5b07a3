"""Trainable nnAudio mel and CQT kernels stay filterbanks under the optimiser, not noise.

Each test drives a front-end with Adam at a backbone's learning rate towards an arbitrary
target — the worst case for its filters — and checks what a collapse breaks: non-negative
weights, bands that keep their support and their energy, bins that keep their frequency.
The raw nnAudio parametrisation, driven the same way, is shown to break them.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from nnAudio.features import CQT1992v2, MelSpectrogram

from waveform_mir.frontends import build_frontend

SAMPLE_RATE = 16000


def drive(transform: torch.nn.Module, steps: int, lr: float, bins: int) -> None:
    """``steps`` Adam steps pulling the log output towards a fixed random target."""
    generator = torch.Generator().manual_seed(0)
    waveform = torch.randn(4, SAMPLE_RATE, generator=generator) * 0.1
    target = torch.randn(1, bins, 1, generator=generator)
    optimizer = torch.optim.Adam([p for p in transform.parameters() if p.requires_grad], lr=lr)
    for _ in range(steps):
        loss = (torch.log(transform(waveform).clamp_min(1e-6)) - target).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def band_energies(transform: torch.nn.Module) -> torch.Tensor:
    """Mean output per band for white noise, ``(bins,)``."""
    noise = torch.randn(2, SAMPLE_RATE, generator=torch.Generator().manual_seed(1)) * 0.1
    with torch.no_grad():
        return transform(noise).mean(dim=(0, 2))


def test_trainable_mel_matrix_stays_non_negative_on_its_support():
    frontend = build_frontend({"name": "nnaudio_mel", "n_mels": 32, "trainable_mel": True},
                              sample_rate=SAMPLE_RATE)
    initial = frontend.learned_filters()["mel_basis"]
    drive(frontend.transform, steps=150, lr=2e-3, bins=32)
    learned = frontend.learned_filters()["mel_basis"]
    assert not torch.equal(learned, initial)  # it does learn
    assert (learned >= 0).all()
    assert torch.equal(learned > 0, initial > 0)  # every band keeps its support
    assert (band_energies(frontend.transform) > 1e-8).all()  # no dead band

    # nnAudio's raw matrix as a free parameter, driven the same way, turns negative and
    # leaks out of its bands.
    raw = MelSpectrogram(sr=SAMPLE_RATE, n_fft=512, hop_length=256, n_mels=32, power=2.0,
                         htk=False, norm=1, trainable_mel=True, verbose=False)
    drive(raw, steps=150, lr=2e-3, bins=32)
    assert (raw.mel_basis < 0).any()
    assert (raw.mel_basis.detach()[initial == 0] != 0).float().mean() > 0.5


def test_learnable_cqt_starts_as_nnaudio_cqt():
    frontend = build_frontend({"name": "nnaudio_cqt", "f_min": 65.4, "n_bins": 36},
                              sample_rate=SAMPLE_RATE)
    fixed = CQT1992v2(sr=SAMPLE_RATE, hop_length=256, fmin=65.4, n_bins=36,
                      output_format="Magnitude", verbose=False)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tones = torch.tensor(np.stack([np.sin(2 * np.pi * f * t) for f in (80, 300, 1200)]),
                         dtype=torch.float32)
    with torch.no_grad():
        ours, theirs = frontend.transform(tones), fixed(tones)
    assert ours.shape == theirs.shape
    torch.testing.assert_close(ours, theirs, rtol=0.02, atol=0.02 * float(theirs.max()))


def test_learnable_cqt_bins_keep_their_frequency_and_stay_band_pass():
    frontend = build_frontend({"name": "nnaudio_cqt", "f_min": 65.4, "n_bins": 36},
                              sample_rate=SAMPLE_RATE)
    initial = frontend.learned_filters()
    drive(frontend.transform, steps=40, lr=2e-3, bins=36)
    learned = frontend.learned_filters()
    assert not torch.equal(learned["center_hz"], initial["center_hz"])  # it does learn
    # multiplicative steps: a centre moves by a few percent, not across the spectrum
    ratio = learned["center_hz"] / initial["center_hz"]
    assert ratio.min() > 0.8 and ratio.max() < 1.25
    assert torch.isfinite(learned["bandwidth_hz"]).all() and (learned["bandwidth_hz"] > 0).all()

    # each bin still answers a tone at its own centre far more than one two octaves away
    t = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    transform = frontend.transform
    for bin_index in (5, 20, 30):
        centre = float(learned["center_hz"][bin_index])
        with torch.no_grad():
            at_centre = transform(torch.sin(2 * np.pi * centre * t)[None])[0, bin_index].mean()
            away = transform(torch.sin(2 * np.pi * centre / 4 * t)[None])[0, bin_index].mean()
        assert at_centre > 10 * away


@pytest.mark.parametrize("name", ["nnaudio_mel", "nnaudio_cqt"])
def test_learned_filters_are_reported_as_the_computation_uses_them(name):
    options = {"n_mels": 16} if name == "nnaudio_mel" else {"f_min": 65.4, "n_bins": 24}
    frontend = build_frontend({"name": name, **options}, sample_rate=SAMPLE_RATE)
    learned = frontend.learned_filters()
    expected = {"nnaudio_mel": {"mel_basis"}, "nnaudio_cqt": {"center_hz", "bandwidth_hz"}}
    assert set(learned) == expected[name]


def test_fast_learnable_cqt_matches_its_time_domain_convolution():
    """The spectral path (closed-form kernel spectra, folding, short kernels in time) against
    the convolution with every tap, on outputs and on the gradients of f and Q, also after
    the bins moved and sharpened or widened."""
    frontend = build_frontend({"name": "nnaudio_cqt", "f_min": 32.7, "n_bins": 84},
                              sample_rate=SAMPLE_RATE)
    fast = frontend.transform
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    signals = torch.randn(3, SAMPLE_RATE, generator=generator) * 0.1
    signals[0] += torch.sin(2 * np.pi * 440 * t)
    for moved in (False, True):
        if moved:
            with torch.no_grad():
                fast.log_frequency += 0.02 * torch.randn(84, generator=generator)
                fast.log_q += 0.3 * torch.randn(84, generator=generator)
        exact = copy.deepcopy(fast)
        exact.exact = True
        outputs, grads = [], []
        for transform in (fast, exact):
            transform.zero_grad()
            out = transform(signals)
            out.log().sum().backward()
            outputs.append(out.detach())
            grads.append([p.grad.clone() for p in (transform.log_frequency, transform.log_q)])
        relative = (outputs[0] - outputs[1]).abs() / outputs[1]
        assert relative.median() < 1e-4 and relative.max() < 2e-2
        for ours, reference in zip(*grads, strict=True):
            assert (ours - reference).norm() < 1e-2 * reference.norm()
