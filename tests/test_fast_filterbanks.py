"""The per-band-grid fast path of LEAF and the SincNet filterbank against the exact one.

The fast path computes each band's energy on the coarsest grid its width and its pooling
window allow (:mod:`waveform_mir.frontends.filterbank`); ``exact = True`` puts every band on
the full-rate grid. A wrong grid choice, a wrong quadrature weight or a wrong bin cut shows
here as a mismatch in the frames or in the gradients of the filter parameters.
"""

from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch
import torch.nn.functional as F

from waveform_mir.frontends import build_frontend
from waveform_mir.frontends.convolution import cut_bins, fft_conv1d, grid_choices, merge_rates
from waveform_mir.frontends.pooling import circular_window_sums
from waveform_mir.model import WaveformClassifier

SAMPLE_RATE = 16000
pytestmark = pytest.mark.usefixtures("single_thread")


def fast_and_exact(config: dict) -> tuple[torch.nn.Module, torch.nn.Module]:
    fast = build_frontend(config, sample_rate=SAMPLE_RATE).eval()
    exact = copy.deepcopy(fast)
    exact.exact = True
    return fast, exact


def spread_over_the_whole_range(frontend: torch.nn.Module) -> None:
    """Centres from 50 Hz to 7.5 kHz, widths from the narrowest to the widest allowed."""
    filters = frontend.filters
    bands = filters.center.numel() if hasattr(filters, "center") else filters.low_.numel()
    with torch.no_grad():
        if hasattr(filters, "center"):  # Gabor: eta in rad/sample, sigma in samples
            filters.center.copy_(torch.linspace(50, 7500, bands) * 2 * math.pi / SAMPLE_RATE)
            low, high = filters.sigma_range
            filters.sigma.copy_(torch.logspace(math.log10(high), math.log10(low), bands))
        else:  # sinc: low cut-off and band in cycles/sample
            filters.low_.copy_(torch.linspace(0, 6000, bands) / SAMPLE_RATE)
            filters.band_.copy_(torch.logspace(math.log10(30), math.log10(4000), bands)
                                / SAMPLE_RATE)


def gradients(frontend: torch.nn.Module, waveform: torch.Tensor) -> dict[str, torch.Tensor]:
    frontend.zero_grad()
    weights = torch.linspace(0.5, 1.5, frontend.energies(waveform).shape[-1])
    (frontend.energies(waveform).log() * weights).sum().backward()
    return {name: p.grad.clone() for name, p in frontend.named_parameters()
            if p.grad is not None}


def make_signals() -> torch.Tensor:
    """Noise plus a chirp and a click: broadband, moving and sudden content."""
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(SAMPLE_RATE) / SAMPLE_RATE
    chirp = torch.sin(2 * math.pi * (100 + 3000 * t) * t)
    noise = torch.randn(3, SAMPLE_RATE, generator=generator) * 0.1
    click = torch.zeros(SAMPLE_RATE)
    click[5000] = 1.0
    return noise + torch.stack([chirp, click, 0 * t])


SIGNALS = make_signals()
CONFIGS = {
    "leaf": {"name": "leaf", "num_filters": 32, "stride_ms": 16.0},
    "sinc_fbank": {"name": "sinc_fbank", "num_filters": 32, "hop_length": 256},
}
# Worst relative error of one frame's energy: Gaussian responses are cut where they are
# 1e-4; a windowed sinc's sidelobes decay slowly, and its cut leaves up to 1e-2 on a
# quiet frame (SincFilters.support), and about 1 % of the gradient of the lowest bands'
# low cut-offs, whose derivative kernels spread over the sidelobes.
WORST = {"leaf": 5e-3, "sinc_fbank": 2e-2}


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("spread", [False, True], ids=["initial", "whole-range"])
def test_fast_energies_and_gradients_match_the_full_rate_ones(name: str, spread: bool) -> None:
    fast, exact = fast_and_exact(CONFIGS[name])
    if spread:
        spread_over_the_whole_range(fast)
        spread_over_the_whole_range(exact)
    per_hop = fast.points_per_hop(SIGNALS.shape[-1])
    spacing = fast.pooling.stride / per_hop
    assert spacing.max() >= 8, "narrow bands must get coarse grids, or nothing is saved"
    assert per_hop.sum() < per_hop.numel() * fast.pooling.stride / 3, "too few points saved"
    assert (spacing != spacing.round()).any(), "grids between the hop's divisors must be tried"
    if spread:
        assert spacing.min() <= 6, "the widest bands must get fine grids"
    with torch.no_grad():
        ours, reference = fast.energies(SIGNALS), exact.energies(SIGNALS)
    relative = (ours - reference).abs() / reference
    assert relative.median() < 1e-4 and relative.max() < WORST[name]
    ours_grad, reference_grad = gradients(fast, SIGNALS), gradients(exact, SIGNALS)
    assert set(ours_grad) == set(reference_grad) and ours_grad
    for parameter, expected in reference_grad.items():
        error = (ours_grad[parameter] - expected).norm() / expected.norm()
        assert error < WORST[name], f"{name}.{parameter}: gradient off by {error:.1e}"


def test_a_band_forced_onto_too_coarse_a_grid_is_caught() -> None:
    """The check above can fail: the widest bands on the narrowest bands' grid alias."""
    fast, exact = fast_and_exact(CONFIGS["leaf"])
    spread_over_the_whole_range(fast)
    spread_over_the_whole_range(exact)
    fast.points_per_hop = lambda samples: torch.full((32,), 8)  # every 32 samples
    with torch.no_grad():
        relative = (fast.energies(SIGNALS) - exact.energies(SIGNALS)).abs() / exact.energies(
            SIGNALS)
    assert relative.max() > 0.05


def test_exact_leaf_is_a_time_domain_gabor_filterbank_with_gaussian_pooling() -> None:
    """The full-rate path against direct convolution with long Gabor kernels: each band
    signal with its ringing past the crop, squared, summed under the Gaussian window."""
    _, exact = fast_and_exact(CONFIGS["leaf"])
    filters, pooling = exact.filters, exact.pooling
    eta, sigma = (value.detach() for value in filters.constrained())
    half = filters.ringing()
    taps = torch.arange(-half, half + 1, dtype=torch.float32)
    kernels = torch.polar(torch.exp(-0.5 * (taps / sigma[:, None]) ** 2)
                          / (math.sqrt(2 * math.pi) * sigma[:, None]), eta[:, None] * taps)
    margin = half + pooling.extent
    padded = torch.nn.functional.pad(SIGNALS, (margin, margin))
    energy = fft_conv1d(padded, kernels).abs().square()  # (batch, bands, padded samples)
    offsets = torch.arange(-pooling.extent, pooling.extent + 1)
    window = torch.exp(-0.5 * (offsets / (pooling.constrained_width()[:, None].detach()
                                          * pooling.half)) ** 2)
    centres = margin + torch.arange(0, SAMPLE_RATE, pooling.stride)
    windows = energy[..., centres[:, None] + offsets]  # (batch, bands, frames, taps)
    expected = (windows * window[None, :, None, :]).sum(-1)
    with torch.no_grad():
        ours = exact.energies(SIGNALS)
    torch.testing.assert_close(ours, expected, rtol=2e-3, atol=1e-9)


def test_fast_and_exact_leaf_move_their_filters_the_same_way() -> None:
    """Twenty Adam steps on a tone-versus-noise task, from one seed, fast and exact."""
    def trained(exact: bool) -> dict[str, torch.Tensor]:
        torch.manual_seed(0)
        model = WaveformClassifier({"name": "leaf", "num_filters": 16, "stride_ms": 16.0},
                                   {"name": "short_chunk_cnn", "width": 4},
                                   id2label={0: "tone", 1: "noise"}, sample_rate=SAMPLE_RATE)
        model.frontend.exact = exact
        optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
        generator = torch.Generator().manual_seed(1)
        t = torch.arange(SAMPLE_RATE // 2) / SAMPLE_RATE
        for _ in range(20):
            pitch = 200 + 1500 * torch.rand(4, 1, generator=generator)
            tones = torch.sin(2 * math.pi * pitch * t)
            noise = torch.randn(4, t.numel(), generator=generator)
            waveform = 0.1 * torch.cat([tones, noise])
            labels = torch.tensor([0] * 4 + [1] * 4)
            loss = torch.nn.functional.cross_entropy(model(waveform), labels)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        return model.frontend.learned_filters()

    start = build_frontend(CONFIGS["leaf"] | {"num_filters": 16}, sample_rate=SAMPLE_RATE
                           ).learned_filters()
    fast, exact = trained(False), trained(True)
    for key in ("center_hz", "bandwidth_hz"):
        moved_fast, moved_exact = fast[key] - start[key], exact[key] - start[key]
        assert moved_exact.abs().max() > 1.0, f"{key}: the filters must move to compare"
        cosine = torch.nn.functional.cosine_similarity(moved_fast, moved_exact, dim=0)
        assert cosine > 0.98, f"{key}: fast and exact moved differently ({cosine:.3f})"
        assert (moved_fast - moved_exact).norm() < 0.2 * moved_exact.norm()


def test_merged_grids_are_the_cheapest_grouping_and_never_coarser() -> None:
    """Against every grouping of the sorted rates into contiguous runs, by brute force."""
    generator = torch.Generator().manual_seed(3)
    for _ in range(20):
        own = torch.randint(4, 40, (12,), generator=generator)
        rates = own.unique().tolist()
        counts = [int((own == rate).sum()) for rate in rates]
        for max_groups, group_cost in [(1, 0), (3, 0), (4, 500), (8, 60)]:
            merged = merge_rates(own, 10, group_cost, max_groups)
            assert (merged >= own).all() and merged.unique().numel() <= max_groups
            best = math.inf
            for cuts in itertools.product([False, True], repeat=len(rates) - 1):
                ends = [i for i, cut in enumerate(cuts) if cut] + [len(rates) - 1]
                if len(ends) > max_groups:
                    continue
                starts = [0] + [end + 1 for end in ends[:-1]]
                points = sum(sum(counts[a:b + 1]) * rates[b] * 10
                             for a, b in zip(starts, ends, strict=True))
                best = min(best, points + len(ends) * group_cost)
            cost = int(merged.sum()) * 10 + merged.unique().numel() * group_cost
            assert cost == best


def test_every_permitted_grid_has_taps_on_the_window_edges_and_a_fast_size() -> None:
    choices = grid_choices(hop=160, extent=224, max_decimation=32, size=17280)
    assert choices[0] >= 5 and choices[-1] == 160
    for q in choices[:-1]:
        assert 224 * q % 160 == 0 and 17280 * q % (4 * 160) == 0
    assert 5 in choices and 10 in choices  # the divisors' grids, every 32 and 16 samples


@pytest.mark.parametrize(("bands", "shared", "step", "reach"),
                         [(5, False, 6, 6), (4, True, 4, 9), (3, False, 1, 3), (4, False, 16, 5)])
def test_block_window_sums_are_the_circular_strided_convolution(
        bands: int, shared: bool, step: int, reach: int) -> None:
    """Pooling's matrix-product form against depthwise ``conv1d`` on a circular padding:
    windows reaching a whole number of blocks or not, one window per band or one for all.
    A column shifted the wrong way, or a window cut one tap off, fails the values or the
    gradients."""
    torch.manual_seed(0)
    energy = torch.rand(2, bands, 9 * step, dtype=torch.float64, requires_grad=True)
    window = torch.rand(1 if shared else bands, 2 * reach + 1, dtype=torch.float64,
                        requires_grad=True)
    padded = F.pad(energy, (reach, reach), mode="circular")
    expected = F.conv1d(padded, window.unsqueeze(1).expand(bands, -1, -1), stride=step,
                        groups=bands)
    pooled = circular_window_sums(energy, window, step)
    assert torch.allclose(pooled, expected)
    weights = torch.randn_like(expected)
    for got, want in zip(torch.autograd.grad((pooled * weights).sum(), (energy, window)),
                         torch.autograd.grad((expected * weights).sum(), (energy, window)),
                         strict=True):
        assert torch.allclose(got, want)
    if step > 1:
        with pytest.raises(ValueError, match="whole number of blocks"):
            circular_window_sums(energy[..., 1:], window, step)


@pytest.mark.parametrize("size", [4096, 4095])
def test_sinc_responses_at_the_cut_bins_are_the_fft_of_the_taps(size: int) -> None:
    """The SincNet filterbank's closed-form responses against one FFT of its kernels,
    analytic (negative frequencies dropped, positive doubled), on cuts that wrap round
    bin 0 and cross the Nyquist bin, with the values and the cut-offs' gradients. A wrong
    phase, a sign, or the doubling on the wrong side fails it."""
    torch.manual_seed(0)
    filters = build_frontend({"name": "sinc_fbank", "num_filters": 12}, sample_rate=SAMPLE_RATE
                             ).filters
    kernels = filters()
    half = kernels.shape[-1] // 2
    padded = F.pad(kernels, (0, size - kernels.shape[-1])).roll(-half, dims=-1)
    full = torch.fft.fft(padded.double()).real  # (filters, size), real: symmetric taps
    frequency = torch.arange(size)
    full = full * (2.0 * ((frequency > 0) & (2 * frequency < size)) + (frequency == 0))
    centres = torch.tensor([0, 3, size // 2, size // 2 - 2, size - 5, 700])
    bands = torch.tensor([0, 1, 5, 7, 11, 3])
    bins = cut_bins(centres, size, 96)
    (responses,) = filters.spectra_at([(bands, bins)], size)
    expected = full[bands.view(-1, 1), bins]
    assert torch.allclose(responses.double(), expected, atol=1e-5 * expected.abs().max().item())
    weights = torch.randn(responses.shape)
    params = (filters.low_, filters.band_)
    got = torch.autograd.grad((responses * weights).sum(), params)
    want = torch.autograd.grad((expected.float() * weights).sum(), params)
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, rtol=1e-3, atol=1e-4 * b.abs().max().item())
