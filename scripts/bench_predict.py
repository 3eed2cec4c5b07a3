"""Prediction latency for one 30 s clip on this CPU, per front-end, side by side.

For every registered front-end an untrained model is built (weights do not change the
cost): 2D front-ends feed the backbone of ``recipes/quickstart.yaml`` (the default model), 1D
front-ends the ``samplecnn`` backbone. Each model scores the same clip with the package's
:class:`~waveform_mir.predict.Predictor` — chunks of the recipe's crop length, batched — once
from the decoded waveform ("after decode") and once from an MP3 file ("with decode"). The
median of ``--repeats`` runs is reported after a warm-up run, with the ratio to the default.

    python scripts/bench_predict.py [--seconds 30] [--repeats 5] [--out bench_predict.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import soundfile as sf
import torch
from rich.console import Console
from rich.table import Table

from waveform_mir.backbones import backbone_kind
from waveform_mir.config import ModelConfig, Recipe, load_recipe
from waveform_mir.data.synthetic import GENRES, render_clip
from waveform_mir.frontends import FRONTENDS, frontend_kind
from waveform_mir.model import build_model
from waveform_mir.predict import Predictor

REPO = Path(__file__).resolve().parents[1]
DEFAULT_RECIPE = REPO / "recipes" / "quickstart.yaml"
BACKBONE_1D = {"name": "samplecnn"}
TARGET_MS = 150.0  # after-decode budget for the default model on a 30 s clip
MP3_RATE = 44100


def model_configs(recipe: Recipe) -> dict[str, ModelConfig]:
    """Front-end name -> model config; the recipe's own front-end keeps its settings."""
    default = recipe.model
    configs = {}
    for name in sorted(FRONTENDS):
        if name == default.frontend["name"]:
            configs[name] = default
            continue
        backbone = default.backbone if frontend_kind(name) == backbone_kind(
            default.backbone["name"]) else BACKBONE_1D
        configs[name] = ModelConfig(frontend={"name": name}, backbone=dict(backbone),
                                    head=dict(default.head))
    return configs


def median_ms(run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU milliseconds of ``run`` after one warm-up call.

    CPU time (summed over torch's threads) is reported too because it barely moves when other
    processes compete for the cores, while wall-clock time does.
    """
    run()  # warm-up: first-call allocations and kernel selection
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def bench(recipe: Recipe, seconds: float, repeats: int, clip_path: Path) -> list[dict]:
    rate = recipe.data.sample_rate
    id2label = dict(enumerate(GENRES))
    rows = []
    for name, config in model_configs(recipe).items():
        model = build_model(config, sample_rate=rate, id2label=id2label)
        predictor = Predictor(model, chunk_seconds=recipe.data.crop_seconds)
        waveform, _ = predictor.decode(clip_path)
        after = median_ms(lambda p=predictor, w=waveform: p.score_waveform(w), repeats)
        with_decode = median_ms(lambda p=predictor: p.score_file(clip_path), repeats)
        rows.append({
            "frontend": name,
            "backbone": config.backbone["name"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "chunks": int(predictor.chunks(waveform)[1].shape[0]),
            "after_decode_ms": after[0],
            "after_decode_cpu_ms": after[1],
            "with_decode_ms": with_decode[0],
            "with_decode_cpu_ms": with_decode[1],
            "default": config is recipe.model,
        })
    baseline = next(row for row in rows if row["default"])
    for row in rows:
        row["ratio_to_default"] = row["after_decode_ms"] / baseline["after_decode_ms"]
    return rows


def table(rows: list[dict], seconds: float) -> Table:
    load = os.getloadavg()[0]
    out = Table(title=f"prediction latency, {seconds:g} s clip, {torch.get_num_threads()} "
                      f"torch threads, load average {load:.1f} on {os.cpu_count()} CPUs "
                      f"(median ms; target {TARGET_MS:g} ms after decode)")
    for column in ("front-end", "backbone", "params", "chunks", "after decode",
                   "(cpu)", "with decode", "(cpu)", "× default"):
        out.add_column(column, justify="left" if column in ("front-end", "backbone")
                       else "right")
    for row in sorted(rows, key=lambda r: r["after_decode_ms"]):
        out.add_row(
            row["frontend"] + (" (default)" if row["default"] else ""), row["backbone"],
            f"{row['parameters']:,}", str(row["chunks"]), f"{row['after_decode_ms']:.0f}",
            f"{row['after_decode_cpu_ms']:.0f}", f"{row['with_decode_ms']:.0f}",
            f"{row['with_decode_cpu_ms']:.0f}", f"{row['ratio_to_default']:.2f}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=DEFAULT_RECIPE,
                        help="recipe of the default model (sample rate, crop, backbone)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--out", type=Path, default=None, help="write the rows as JSON here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = load_recipe(args.recipe)
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip.mp3"
        sf.write(clip, render_clip("rock", 0, args.seconds, MP3_RATE), MP3_RATE)
        rows = bench(recipe, args.seconds, args.repeats, clip)
    Console().print(table(rows, args.seconds))
    report = {"seconds": args.seconds, "repeats": args.repeats, "recipe": str(args.recipe),
              "torch_threads": torch.get_num_threads(), "cpus": os.cpu_count(),
              "load_average_1min": os.getloadavg()[0], "target_ms": TARGET_MS, "rows": rows}
    print(json.dumps(report))
    if args.out:
        args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
