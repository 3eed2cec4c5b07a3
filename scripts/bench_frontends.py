"""Cost of every front-end, alone and with a matching backbone, relative to the fixed mel.

For each registered front-end the script builds a model with the default backbone of its
kind (2D: ``short_chunk_cnn``, 1D: ``samplecnn``) and times, on one batch of random audio:
the front-end's forward pass, its forward + backward pass, and the whole model's forward +
backward pass (one training step without the optimiser). Times are medians over repeats
after warm-up; ratios are to the ``mel`` front-end with the same measurement.

    python scripts/bench_frontends.py --device cuda --out bench.json
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

from waveform_mir.frontends import FRONTENDS, frontend_kind
from waveform_mir.model import WaveformClassifier

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


def add_ratios(rows: list[dict[str, Any]]) -> None:
    """Divide every time by the baseline's; the ``*_ratio`` keys are what the target reads."""
    baseline = next(row for row in rows if row["frontend"] == BASELINE)
    for row in rows:
        for key in ("frontend_forward_s", "frontend_fwd_bwd_s", "model_fwd_bwd_s"):
            row[key.removesuffix("_s") + "_ratio"] = row[key] / baseline[key]


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
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--frontends", nargs="*", default=sorted(FRONTENDS))
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    names = [BASELINE, *(n for n in args.frontends if n != BASELINE)]
    rows = [bench_one(name, args, device) for name in names]
    add_ratios(rows)
    setting = (
        f"batch {args.batch_size} x {args.seconds:g} s at {args.sample_rate} Hz on {device}"
        f" ({torch.get_num_threads()} threads, load {os.getloadavg()[0]:.1f})"
    )
    Console(width=200).print(render(rows, f"front-end cost — {setting}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"setting": setting, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
