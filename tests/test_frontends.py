"""Front-ends: registry, shapes, normalisation, SincNet initialisation, fast kernels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from small_models import SMALL_FRONTENDS

from waveform_mir.augment import SpecAugment
from waveform_mir.frontends import FRONTENDS, build_frontend
from waveform_mir.frontends.convolution import (
    circular_slices,
    fast_fft_size,
    fft_conv1d,
    periodic_extension,
)
from waveform_mir.frontends.pcen import exponential_moving_average
from waveform_mir.frontends.scales import hz_to_mel
from waveform_mir.registry import RegistryError

pytestmark = pytest.mark.usefixtures("single_thread")


def test_registry_lists_every_frontend() -> None:
    assert set(FRONTENDS) == set(SMALL_FRONTENDS)


def test_unknown_frontend_names_the_choices() -> None:
    with pytest.raises(RegistryError, match="choose one of .*'leaf'"):
        build_frontend({"name": "nope"}, sample_rate=16000)


def test_unknown_frontend_option_names_the_valid_ones() -> None:
    with pytest.raises(RegistryError, match=r"unknown option\(s\) \['n_melz'\].*'n_mels'"):
        build_frontend({"name": "mel", "n_melz": 64}, sample_rate=16000)


@pytest.mark.parametrize("name", sorted(SMALL_FRONTENDS))
def test_output_matches_declared_kind_and_shape(name: str) -> None:
    frontend = build_frontend({"name": name, **SMALL_FRONTENDS[name]}, sample_rate=16000)
    out = frontend(torch.randn(3, 16000) * 0.1)
    assert out.dim() == {"1d": 3, "2d": 4}[frontend.output_kind]
    assert tuple(out.shape[1:]) == frontend.output_shape(16000)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(SMALL_FRONTENDS))
def test_outputs_are_standardised(name: str) -> None:
    frontend = build_frontend({"name": name, **SMALL_FRONTENDS[name]}, sample_rate=16000).train()
    out = frontend(torch.randn(4, 8000) * 0.3)
    per_band = out.flatten(0, -3) if out.dim() == 4 else out
    mean = per_band.transpose(0, 1).flatten(1).mean(dim=1)
    assert mean.abs().max() < 1e-3
    assert 0.5 < out.std() < 1.5


def test_fixed_mel_has_no_trainable_parameters() -> None:
    frontend = build_frontend({"name": "mel"}, sample_rate=16000)
    assert sum(p.numel() for p in frontend.parameters() if p.requires_grad) == 0
    assert frontend.learned_filters() is None


@pytest.mark.parametrize("sample_rate", [16000, 22050])
def test_sinc_initial_cutoffs_are_mel_spaced_and_below_nyquist(sample_rate: int) -> None:
    frontend = build_frontend({"name": "sinc_conv", "num_filters": 20}, sample_rate=sample_rate)
    filters = frontend.learned_filters()
    low, high = filters["low_hz"], filters["high_hz"]
    assert (low > 0).all() and (high <= sample_rate / 2).all() and (low < high).all()
    steps = torch.diff(hz_to_mel(low.double()))
    assert torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-3)
    assert set(filters) >= {"center_hz", "bandwidth_hz"}


def test_leaf_initial_filters_are_mel_like() -> None:
    filters = build_frontend({"name": "leaf", "num_filters": 10}, sample_rate=16000)
    centres = filters.learned_filters()["center_hz"]
    assert (torch.diff(centres) > 0).all() and centres[-1] < 8000
    steps = torch.diff(hz_to_mel(centres.double()))
    assert torch.allclose(steps, steps.mean().expand_as(steps), rtol=1e-3)


def test_fft_convolution_matches_direct_convolution() -> None:
    waveform, kernels = torch.randn(2, 1000), torch.randn(5, 31)
    direct = F.conv1d(waveform.unsqueeze(1), kernels.flip(-1).unsqueeze(1), padding=15)
    assert torch.allclose(fft_conv1d(waveform, kernels), direct, atol=1e-4)
    complex_kernels = torch.randn(5, 31, dtype=torch.complex64)
    out = fft_conv1d(waveform, complex_kernels)
    real = F.conv1d(waveform.unsqueeze(1), complex_kernels.real.flip(-1).unsqueeze(1), padding=15)
    assert torch.allclose(out.real, real, atol=1e-4)


def test_circular_slices_match_indexing_every_bin_including_runs_that_wrap() -> None:
    spectrum = torch.randn(3, 40, dtype=torch.complex64, requires_grad=True)
    starts = torch.tensor([0, 7, 33, -5, 39, 80])  # the last four wrap round (or start below 0)
    for width in (1, 8, 40):
        table = (starts.view(-1, 1) + torch.arange(width).view(1, -1)) % 40
        sliced = circular_slices(spectrum, starts, width)
        assert torch.equal(sliced, spectrum[:, table])
        weights = torch.randn(sliced.shape, dtype=torch.complex64)
        (grad,) = torch.autograd.grad((sliced * weights).real.sum(), spectrum)
        (expected,) = torch.autograd.grad((spectrum[:, table] * weights).real.sum(), spectrum)
        assert torch.allclose(grad, expected, atol=1e-5)
        # one extension, made for the widest group, serves every narrower one
        shared = periodic_extension(spectrum, 40)
        assert torch.equal(circular_slices(shared, starts, width, size=40), sliced)


@pytest.mark.parametrize(("pooling", "worst"), [("gaussian", 0.05), ("avg", 0.2)])
def test_decimated_sinc_fbank_matches_full_rate_filtering(pooling: str, worst: float) -> None:
    torch.manual_seed(0)
    frontend = build_frontend(
        {"name": "sinc_fbank", "num_filters": 16, "pooling": pooling, "decimation": 4},
        sample_rate=16000,
    ).eval()
    hops = 16000 // frontend.pooling.stride  # pooling works on whole hops
    waveform = torch.randn(2, hops * frontend.pooling.stride) * 0.1
    response = fft_conv1d(waveform, frontend.filters())
    full_rate = build_frontend(
        {"name": "sinc_fbank", "num_filters": 16, "pooling": pooling, "decimation": 1},
        sample_rate=16000,
    ).pooling
    expected = torch.log(full_rate(2 * response.square()) + 1e-6)  # eval norm is the identity
    difference = (frontend(waveform).squeeze(1) - expected).abs()[..., 1:-1]
    assert difference.median() < 5e-3 and difference.max() < worst  # box edges alias


def test_decimated_leaf_matches_full_rate_leaf() -> None:
    torch.manual_seed(0)
    waveform = torch.randn(2, 16000) * 0.1
    outputs = [
        build_frontend({"name": "leaf", "decimation": d}, sample_rate=16000).eval()(waveform)
        for d in (1, 4)
    ]
    difference = (outputs[0] - outputs[1]).abs()
    assert difference.median() < 1e-3
    assert difference[..., 50:].max() < 5e-3  # after the smoother's start-up transient


def test_sinc_conv_envelope_tracks_the_max_pooled_magnitude() -> None:
    torch.manual_seed(0)
    waveform = torch.randn(2, 8000) * 0.1
    outputs = [
        build_frontend(
            {"name": "sinc_conv", "num_filters": 16, "envelope": envelope}, sample_rate=16000
        ).train()(waveform)
        for envelope in (True, False)
    ]
    assert outputs[0].shape == outputs[1].shape == (2, 16, 8000 // 3)
    correlation = torch.nn.functional.cosine_similarity(outputs[0], outputs[1], dim=-1)
    assert correlation[:, 6:-1].min() > 0.9  # upper bands, where max-pooling ~ envelope


def test_fast_fft_size_is_five_smooth_and_large_enough() -> None:
    for minimum in (1, 7, 1000, 48400, 66151):
        size = fast_fft_size(minimum)
        assert size >= minimum
        for prime in (2, 3, 5):
            while size % prime == 0:
                size //= prime
        assert size == 1


def test_chunked_ema_matches_the_recursion() -> None:
    energy, coef = torch.rand(2, 3, 300), torch.tensor([0.04, 0.3, 1.0])
    expected = [energy[..., 0]]
    for t in range(1, energy.shape[-1]):
        expected.append((1 - coef) * expected[-1] + coef * energy[..., t])
    result = exponential_moving_average(energy, coef, chunk=64)
    assert torch.allclose(result, torch.stack(expected, dim=-1), atol=1e-5)


def test_specaugment_masks_in_training_only() -> None:
    augment = SpecAugment(freq_masks=2, freq_width=4, time_masks=2, time_width=10)
    features = torch.ones(8, 1, 32, 100)
    assert torch.equal(augment.eval()(features), features)
    masked = augment.train()(features)
    assert masked.shape == features.shape and (masked == 0).any()
    assert augment(torch.ones(8, 16, 100)).shape == (8, 16, 100)  # 1d features too


@pytest.mark.torchaudio
def test_torchaudio_mel_backend_matches_nnaudio() -> None:
    pytest.importorskip("torchaudio")
    waveform = torch.randn(2, 16000) * 0.1
    outputs = [
        build_frontend({"name": "mel", "backend": backend}, sample_rate=16000).eval()(waveform)
        for backend in ("nnaudio", "torchaudio")
    ]
    assert torch.allclose(outputs[0], outputs[1], atol=1e-2)
