"""What a learnable front-end learned: filter snapshots before and after training, and plots.

SincNet and LEAF expose centre frequencies and bandwidths, which are compared against the
mel scale they were initialised on; trainable nnAudio kernels and raw convolutions expose
kernel tensors, summarised as their relative change ``‖after − before‖ / ‖before‖``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from torch import nn  # noqa: E402


def snapshot_filters(model: nn.Module) -> dict[str, np.ndarray] | None:
    """Copy of ``model.frontend.learned_filters()`` as numpy arrays (None for fixed ones)."""
    learned = model.frontend.learned_filters()
    if learned is None:
        return None
    return {name: value.detach().float().cpu().numpy().copy() for name, value in learned.items()}


def relative_change(initial: dict[str, np.ndarray], final: dict[str, np.ndarray]
                    ) -> dict[str, float]:
    """``‖final − initial‖ / ‖initial‖`` per learned tensor: 0 means nothing moved."""
    return {name: float(np.linalg.norm(final[name] - initial[name])
                        / max(np.linalg.norm(initial[name]), 1e-12)) for name in initial}


def filter_drift(initial: dict[str, np.ndarray], final: dict[str, np.ndarray]
                 ) -> dict[str, float]:
    """How far a front-end's filters moved from their initialisation, as two numbers:
    ``filter_change``, the largest ``‖after − before‖ / ‖before‖`` over its learned tensors,
    and, for front-ends with centre frequencies, ``centre_shift_octaves``, the mean
    ``|log2(after / before)|`` of the centres (0.083 is one semitone)."""
    drift = {"filter_change": max(relative_change(initial, final).values())}
    if "center_hz" in initial:
        before = np.maximum(initial["center_hz"], 1e-3)
        after = np.maximum(final["center_hz"], 1e-3)
        drift["centre_shift_octaves"] = float(np.mean(np.abs(np.log2(after / before))))
    return drift


def run_filter_drift(run_dir: Path) -> dict[str, float]:
    """:func:`filter_drift` of a training run's ``filters.npz`` (empty for fixed front-ends)."""
    archive = Path(run_dir) / "filters.npz"
    return filter_drift(*load_filters(archive)) if archive.is_file() else {}


def save_filters(initial: dict[str, np.ndarray], final: dict[str, np.ndarray],
                 output_dir: Path) -> Path:
    """``filters.npz`` with ``initial/<name>`` and ``final/<name>`` arrays."""
    path = output_dir / "filters.npz"
    np.savez(path, **{f"initial/{k}": v for k, v in initial.items()},
             **{f"final/{k}": v for k, v in final.items()})
    return path


def load_filters(path: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    with np.load(path) as archive:
        stages = {"initial": {}, "final": {}}
        for key in archive.files:
            stage, name = key.split("/", 1)
            stages[stage][name] = archive[key]
    return stages["initial"], stages["final"]


def mel_hz(num: int, high_hz: float) -> np.ndarray:
    """``num`` frequencies evenly spaced on the mel scale (HTK) from 0 to ``high_hz``."""
    mels = np.linspace(0.0, 2595 * np.log10(1 + high_hz / 700), num)
    return 700 * (10 ** (mels / 2595) - 1)


def plot_filter_axes(ax_centres, ax_bands, initial: dict, final: dict, label: str) -> bool:
    """Draw centre frequencies (sorted) and bandwidth-vs-centre before/after on two axes.

    Returns False when the front-end has no centre frequencies (kernel-type front-ends)."""
    if "center_hz" not in initial:
        return False
    order = np.arange(len(initial["center_hz"]))
    ax_centres.plot(order, np.sort(initial["center_hz"]), "--", color="grey",
                    label=f"{label} before")
    ax_centres.plot(order, np.sort(final["center_hz"]), label=f"{label} after")
    if "bandwidth_hz" in initial:
        ax_bands.scatter(initial["center_hz"], initial["bandwidth_hz"], s=6, color="grey",
                         alpha=0.5)
        ax_bands.scatter(final["center_hz"], final["bandwidth_hz"], s=6, label=label)
    return True


def plot_filters(initial: dict, final: dict, path: Path, sample_rate: int, title: str) -> Path:
    """One figure: centre frequencies vs the mel scale, bandwidths, or kernel change bars."""
    fig, (ax_centres, ax_bands) = plt.subplots(1, 2, figsize=(11, 4))
    if plot_filter_axes(ax_centres, ax_bands, initial, final, title):
        num = len(initial["center_hz"])
        ax_centres.plot(np.arange(num), mel_hz(num, sample_rate / 2), ":", color="black",
                        label="mel scale")
        ax_centres.set(xlabel="filter (sorted)", ylabel="centre frequency (Hz)",
                       title="centre frequencies")
        ax_bands.set(xlabel="centre frequency (Hz)", ylabel="bandwidth (Hz)",
                     title="bandwidths (grey: before)", xscale="log", yscale="log")
        ax_centres.legend(fontsize=8)
    else:
        change = relative_change(initial, final)
        ax_centres.bar(range(len(change)), list(change.values()))
        ax_centres.set_xticks(range(len(change)), list(change), rotation=30, ha="right")
        ax_centres.set(ylabel="‖after − before‖ / ‖before‖", title="change of trainable kernels")
        first = next(iter(initial))
        ax_bands.imshow(np.atleast_2d(final[first] - initial[first]).reshape(
            final[first].shape[0], -1), aspect="auto", cmap="coolwarm")
        ax_bands.set(title=f"{first}: after − before", xlabel="kernel tap / bin",
                     ylabel="filter")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
