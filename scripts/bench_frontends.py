"""Cost of every front-end, alone and with a matching backbone, relative to the fixed mel.

Default mode: for each registered front-end the script builds a model with the default
backbone of its kind (2D: ``short_chunk_cnn``, 1D: ``samplecnn``) and times, on one batch of
random audio: the front-end's forward pass, its forward + backward pass, and the whole
model's forward + backward pass (one training step without the optimiser). Times are medians
over repeats after warm-up; ratios are to the ``mel`` front-end with the same measurement.

``--grid GRID`` times the cells of an ablation grid instead, each built exactly as
``waveform-mir ablate`` builds it (front-end settings, backbone and width, head, SpecAugment,
crop length, batch size): the whole training step (gain, mixup, loss, backward, clipping,
AdamW) and the front-end alone, as ratios to the grid's reference cell (``mel``).

    python scripts/bench_frontends.py --device cuda --out bench.json
    python scripts/bench_frontends.py --grid recipes/ablations/realmusic.yaml --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from waveform_mir.ablate import AblationGrid
from waveform_mir.frontends import FRONTENDS, frontend_kind
from waveform_mir.memory import retain_freed_memory
from waveform_mir.model import WaveformClassifier, build_model_for_data
from waveform_mir.training.loop import training_loss
from waveform_mir.training.optimisation import build_optimizer

BACKBONE_FOR_KIND = {"2d": "short_chunk_cnn", "1d": "samplecnn"}
BASELINE = "mel"


def median_seconds(run: Callable[[], Any], device: torch.device, warmup: int, repeats: int):
    """Median wall time of ``run`` (synchronising CUDA so kernels are counted)."""

    def timed() -> float:
        start = time.perf_counter()
        run()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - start

    for _ in range(warmup):
        timed()
    return statistics.median(timed() for _ in range(repeats))


def bench_one(name: str, args: argparse.Namespace, device: torch.device) -> dict[str, Any]:
    backbone = BACKBONE_FOR_KIND[frontend_kind(name)]
    model = WaveformClassifier(
        {"name": name}, {"name": backbone}, sample_rate=args.sample_rate,
        id2label={i: str(i) for i in range(args.classes)},
    ).to(device).train()
    waveform = torch.randn(args.batch_size, int(args.seconds * args.sample_rate), device=device)
    waveform = waveform * 0.1

    def frontend_forward() -> None:
        with torch.no_grad():
            model.frontend(waveform)

    def frontend_step() -> None:
        model.zero_grad(set_to_none=True)
        out = model.frontend(waveform)
        if out.requires_grad:
            out.square().mean().backward()

    def model_step() -> None:
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.precision == "bf16"):
            loss = model(waveform).logsumexp(dim=-1).mean()
        loss.backward()

    timing = {"warmup": args.warmup, "repeats": args.repeats}
    frontend_params = list(model.frontend.parameters())
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    step_seconds = median_seconds(model_step, device, **timing)
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    return {
        "frontend": name,
        "backbone": backbone,
        "output_shape": list(model.frontend.output_shape(waveform.shape[-1])),
        "frontend_trainable": sum(p.numel() for p in frontend_params if p.requires_grad),
        "model_parameters": sum(p.numel() for p in model.parameters()),
        "frontend_forward_s": median_seconds(frontend_forward, device, **timing),
        "frontend_fwd_bwd_s": median_seconds(frontend_step, device, **timing),
        "model_fwd_bwd_s": step_seconds,
        "precision": args.precision,
        "train_clips_per_s": args.batch_size / step_seconds,
        "peak_gpu_mib": peak,
    }


TIMES = ("frontend_forward_s", "frontend_fwd_bwd_s", "model_fwd_bwd_s")
GRID_TIMES = ("frontend_fwd_bwd_s", "train_step_s")


def add_ratios(rows: list[dict[str, Any]], name_key: str = "frontend",
               reference: str = BASELINE, times: tuple[str, ...] = TIMES) -> None:
    """Divide every time by the reference row's; the ``*_ratio`` keys are what targets read."""
    baseline = next(row for row in rows if row[name_key] == reference)
    for row in rows:
        for key in times:
            row[key.removesuffix("_s") + "_ratio"] = row[key] / baseline[key]


class GridCell:
    """One grid cell as ``ablate`` builds it, timed a round at a time.

    The step is the training loop's own (random gain, mixup, the task's loss, backward,
    gradient clipping, AdamW with the recipe's groups) on a batch of the recipe's size and
    crop length; only the data are random. The front-end alone is timed forward + backward.
    """

    def __init__(self, grid: AblationGrid, variant: str, args: argparse.Namespace,
                 device: torch.device) -> None:
        seed = grid.cells()[0][1]
        self.recipe = grid.cell_recipe(variant, seed, Path("/nonexistent-bench-output"), args.set)
        self.variant, self.args, self.device = variant, args, device
        cfg, data = self.recipe.train, self.recipe.data
        labels = {i: str(i) for i in range(args.classes)}
        self.model = build_model_for_data(self.recipe.model, data, labels).to(device).train()
        self.optimizer = build_optimizer(self.model, cfg)
        self.batch = {
            "waveform": 0.1 * torch.randn(cfg.batch_size, data.crop_samples, device=device),
            "label": torch.randint(args.classes, (cfg.batch_size,), device=device),
        }
        self.times: dict[str, list[float]] = {"train_step_s": [], "frontend_fwd_bwd_s": []}
        self.peak_mib: float | None = None

    def train_step(self) -> None:
        cfg = self.recipe.train
        loss = training_loss(self.model, self.batch, cfg, self.recipe.data.task,
                             self.args.classes, None)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)

    def frontend_step(self) -> None:
        self.model.zero_grad(set_to_none=True)
        out = self.model.frontend(self.batch["waveform"])
        if out.requires_grad:
            out.square().mean().backward()

    def time_once(self, keep: bool) -> None:
        """One timing of each measurement; ``keep=False`` for warm-up rounds."""
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
        bf16 = self.args.precision == "bf16"
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
            step = median_seconds(self.train_step, self.device, warmup=0, repeats=1)
            frontend = median_seconds(self.frontend_step, self.device, warmup=0, repeats=1)
        if self.device.type == "cuda":
            self.peak_mib = torch.cuda.max_memory_allocated(self.device) / 2**20
        if keep:
            self.times["train_step_s"].append(step)
            self.times["frontend_fwd_bwd_s"].append(frontend)

    def row(self) -> dict[str, Any]:
        cfg, data, model = self.recipe.train, self.recipe.data, self.recipe.model
        step = statistics.median(self.times["train_step_s"])
        return {
            "variant": self.variant,
            "frontend": model.frontend["name"],
            "backbone": model.backbone["name"],
            "batch": f"{cfg.batch_size} x {data.crop_seconds:g} s",
            "model_parameters": sum(p.numel() for p in self.model.parameters()),
            "frontend_fwd_bwd_s": statistics.median(self.times["frontend_fwd_bwd_s"]),
            "train_step_s": step,
            "train_clips_per_s": cfg.batch_size / step,
            "precision": self.args.precision,
            "peak_gpu_mib": self.peak_mib,
        }


def render_grid(rows: list[dict[str, Any]], title: str, reference: str) -> Table:
    """The grid bench as a table: times, and ratios to the reference cell."""
    table = Table(title=title)
    columns = [
        ("variant", "variant", str), ("front-end", "frontend", str),
        ("backbone", "backbone", str), ("batch", "batch", str),
        ("params", "model_parameters", "{:,}".format),
        ("fe fwd+bwd ms", "frontend_fwd_bwd_s", lambda s: f"{1e3 * s:.0f}"),
        ("step ms", "train_step_s", lambda s: f"{1e3 * s:.0f}"),
        (f"fe / {reference} fe", "frontend_fwd_bwd_ratio", lambda r: f"{r:.2f}"),
        (f"step / {reference} step", "train_step_ratio", lambda r: f"{r:.2f}"),
        ("clips/s", "train_clips_per_s", lambda r: f"{r:.0f}"),
        ("peak GPU MiB", "peak_gpu_mib", lambda m: "–" if m is None else f"{m:.0f}"),
    ]
    for header, _, _ in columns:
        table.add_column(header, justify="left" if header in ("variant", "front-end",
                                                              "backbone") else "right")
    for row in rows:
        table.add_row(*(fmt(row[key]) for _, key, fmt in columns))
    return table


def render(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    columns = [
        ("front-end", "frontend", str), ("backbone", "backbone", str),
        ("output", "output_shape", lambda s: "x".join(map(str, s))),
        ("fe params", "frontend_trainable", "{:,}".format),
        ("model params", "model_parameters", "{:,}".format),
        ("fe fwd ms", "frontend_forward_s", lambda s: f"{1e3 * s:.0f}"),
        ("fe fwd+bwd ms", "frontend_fwd_bwd_s", lambda s: f"{1e3 * s:.0f}"),
        ("model fwd+bwd ms", "model_fwd_bwd_s", lambda s: f"{1e3 * s:.0f}"),
        ("fe fwd+bwd / mel", "frontend_fwd_bwd_ratio", lambda r: f"{r:.2f}"),
        ("model / mel", "model_fwd_bwd_ratio", lambda r: f"{r:.2f}"),
        ("clips/s", "train_clips_per_s", lambda r: f"{r:.0f}"),
        ("peak GPU MiB", "peak_gpu_mib", lambda m: "–" if m is None else f"{m:.0f}"),
    ]
    for header, _, _ in columns:
        table.add_column(header, justify="left" if header in ("front-end", "backbone") else "right")
    for row in rows:
        table.add_row(*(fmt(row[key]) for _, key, fmt in columns))
    return table


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32",
                        help="training step under bf16 autocast or in fp32")
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--classes", type=int, default=10, help="head size (GTZAN: 10)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--frontends", nargs="*", default=sorted(FRONTENDS))
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    parser.add_argument("--grid", type=Path, default=None,
                        help="time this ablation grid's cells as ablate builds them")
    parser.add_argument("--variants", nargs="*", default=None,
                        help="with --grid: only these variants (the reference is always timed)")
    parser.add_argument("--reference", default=BASELINE,
                        help="with --grid: the variant every ratio is relative to")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="with --grid: a recipe override applied to every cell")
    parser.add_argument("--allocator", choices=["retain", "system"], default="retain",
                        help="retain freed memory as the waveform-mir command does (default), "
                             "or keep the C library's default (scripts/bench_allocator.py "
                             "compares the two)")
    return parser.parse_args()


def grid_rows(args: argparse.Namespace, device: torch.device) -> list[dict[str, Any]]:
    """Every (chosen) variant of ``--grid``, the reference first, with ratios to it.

    The cells are timed in interleaved rounds (each cell once per round, ``--repeats``
    rounds after ``--warmup``), so a machine that slows down or speeds up mid-run shifts
    every cell alike and the ratios hold; each time is a cell's median over the rounds.
    """
    grid = AblationGrid.load(args.grid)
    chosen = args.variants or list(grid.variants)
    names = [args.reference, *(name for name in chosen if name != args.reference)]
    cells = []
    for name in names:
        torch.manual_seed(0)
        cells.append(GridCell(grid, name, args, device))
    for round_index in range(args.warmup + args.repeats):
        for cell in cells:
            cell.time_once(keep=round_index >= args.warmup)
    rows = [cell.row() for cell in cells]
    add_ratios(rows, name_key="variant", reference=args.reference, times=GRID_TIMES)
    return rows


def main() -> None:
    args = parse_args()
    retained = args.allocator == "retain" and retain_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    if args.grid:
        rows = grid_rows(args, device)
        setting = f"the cells of {args.grid}"
    else:
        names = [BASELINE, *(n for n in args.frontends if n != BASELINE)]
        rows = [bench_one(name, args, device) for name in names]
        add_ratios(rows)
        setting = f"batch {args.batch_size} x {args.seconds:g} s at {args.sample_rate} Hz"
    setting += (f" on {device} ({torch.get_num_threads()} threads,"
                f" load {os.getloadavg()[0]:.1f}, {args.precision},"
                f" {'freed memory retained' if retained else 'system allocator'})")
    table = (render_grid(rows, f"grid cell cost — {setting}", args.reference) if args.grid
             else render(rows, f"front-end cost — {setting}"))
    Console(width=200).print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        report = {"setting": setting, "retained": retained, "rows": rows}
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
