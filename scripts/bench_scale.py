"""Benchmark: how far the decoded cache scales, measured side by side against decoding alone.

Why: decoding MP3 is the ceiling of every stage that touches audio files, so each is reported
against it. On ``--files`` generated 30 s MP3 clips (copies of ``--distinct`` synthetic clips
at 44.1 kHz: decoding cost does not depend on which music it is) one run measures

* decode only, files/s with 1 and ``--workers`` processes: the limit;
* ``prepare_dataset`` files/s with ``data.num_proc`` 1 and ``--workers`` (decode, loudness,
  int16 PCM, Arrow write), and what the cache costs per audio hour and per sample;
* random crops/s served from the cache (one process);
* files/s of prediction with a freshly built model of ``--recipe`` (the default model:
  quickstart) on ``--threads`` torch threads: the model alone on decoded clips (the other
  limit), ``Predictor.score_file`` file by file, and ``score_library`` (what
  ``waveform-mir predict DIR`` runs) with 1 and ``--workers`` decoder processes feeding the
  model in the main process;

then projects disk and preparation time for the FMA sets on a ``--cores``-core machine,
assuming preparation scales linearly with cores and with track duration (decoding-bound).

Sample rate, crop length and loudness come from the recipe too. Usage:
``python scripts/bench_scale.py [--files 300] [--workers 2] [--out bench_scale.json]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from rich.console import Console
from rich.table import Table

from waveform_mir.config import DataConfig, ModelConfig, load_recipe
from waveform_mir.data import RandomCropDataset, decode_audio, prepare_dataset
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.data.synthetic import GENRES, render_clip
from waveform_mir.inference.library import score_library
from waveform_mir.model import build_model_for_data
from waveform_mir.predict import Predictor

REPO = Path(__file__).resolve().parents[1]
MP3_RATE = 44100
CLIP_SECONDS = 30.0
FLOAT32_BYTES = 4  # per sample in the previous cache format, which also saved a second copy
FMA_SETS = {  # name: (clips, mean seconds per clip)
    "fma_small": (8000, 30.0),
    "fma_medium": (25000, 30.0),
    "fma_large": (106574, 30.0),
    "fma_full": (106574, 270.0),
}


def generate(root: Path, files: int, distinct: int) -> list[Path]:
    """``files`` MP3s in a folder source (``labels.csv``), cycling through ``distinct`` clips."""
    root.mkdir(parents=True)
    sources = []
    for i in range(distinct):
        genre = GENRES[i % len(GENRES)]
        path = root / f"source-{i:03d}.mp3"
        sf.write(path, render_clip(genre, i, CLIP_SECONDS, MP3_RATE), MP3_RATE)
        sources.append((path, genre))
    paths = []
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for i in range(files):
            source, genre = sources[i % distinct]
            path = root / f"clip-{i:05d}.mp3"
            shutil.copyfile(source, path)
            writer.writerow([path.name, genre, "train"])
            paths.append(path)
    for source, _ in sources:
        source.unlink()
    return paths


def _decode_length(path: Path, sample_rate: int) -> int:
    return decode_audio(path, sample_rate).shape[0]


def decode_rate(paths: list[Path], sample_rate: int, workers: int) -> float:
    """Files/s decoding (and resampling) every file once in ``workers`` processes."""
    decode = partial(_decode_length, sample_rate=sample_rate)
    start = time.perf_counter()
    if workers == 1:
        list(map(decode, paths))
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(decode, paths, chunksize=8))
    return len(paths) / (time.perf_counter() - start)


def prepare_rate(data: DataConfig, root: Path, cache: Path, workers: int):
    """Files/s of a cold ``prepare_dataset`` with ``data.num_proc = workers``, and its data."""
    config = replace(data, source="folder", options={"root": str(root)}, cache_dir=str(cache),
                     num_proc=workers)
    start = time.perf_counter()
    prepared = prepare_dataset(config, progress=False)
    seconds = time.perf_counter() - start
    return len(prepared.dataset["train"]) / seconds, prepared


def cache_cost(prepared, sample_rate: int) -> dict[str, float]:
    """Bytes on disk of the whole cache entry (audio, offsets, metadata), per audio hour and
    per sample."""
    disk = sum(p.stat().st_size for p in prepared.cache_path.rglob("*") if p.is_file())
    samples = sum(int(WaveformColumn(split).lengths.sum())
                  for split in prepared.dataset.values())
    return {"disk_bytes": disk, "samples": samples, "bytes_per_sample": disk / samples,
            "bytes_per_audio_hour": disk / samples * sample_rate * 3600}


def crop_rate(split, crop_samples: int, seconds: float) -> float:
    """Random crops/s from the cache in this process (what one DataLoader worker serves)."""
    crops = RandomCropDataset(split, crop_samples)
    rng = np.random.default_rng(0)
    done, start = 0, time.perf_counter()
    while done < 100 or time.perf_counter() - start < seconds:
        crops[int(rng.integers(0, len(crops)))]
        done += 1
    return done / (time.perf_counter() - start)


def predict_rates(paths: list[Path], model_config: ModelConfig, config: DataConfig,
                  workers: int) -> dict[str, float]:
    """Files/s of prediction (decode, loudness, chunks, model) after a warm-up: the model
    alone on clips read beforehand (``model``), file by file with ``Predictor.score_file``
    (``predict_0``), and through ``score_library`` with ``n`` decoder processes
    (``predict_<n>``, n = 1 and ``workers``)."""
    model = build_model_for_data(model_config, config, dict(enumerate(GENRES)))
    predictor = Predictor(model, chunk_seconds=config.crop_seconds)
    tracks = [predictor.reader.read(path) for path in paths]
    predictor.score_tracks(tracks[:1])
    start = time.perf_counter()
    for track in tracks:
        predictor.score_tracks([track])
    model_rate = len(paths) / (time.perf_counter() - start)
    start = time.perf_counter()
    for path in paths:
        predictor.score_file(path)
    rates = {"model": model_rate, "predict_0": len(paths) / (time.perf_counter() - start)}
    for n in sorted({1, workers}):
        start = time.perf_counter()
        for _ in score_library(predictor, paths, n):
            pass
        rates[f"predict_{n}"] = len(paths) / (time.perf_counter() - start)
    return rates


def measure(args: argparse.Namespace, work: Path, console: Console) -> dict:
    """Every measurement of one run, in files/s unless named otherwise."""
    recipe = load_recipe(args.recipe)
    data = recipe.data
    with console.status(f"writing {args.files} MP3 clips of {CLIP_SECONDS:g} s"):
        paths = generate(work / "audio", args.files, args.distinct)
    rates = {}
    for n in sorted({1, args.workers}):
        with console.status(f"decoding only, {n} process(es)"):
            rates[f"decode_{n}"] = decode_rate(paths, data.sample_rate, n)
        with console.status(f"prepare_dataset, num_proc={n}"):
            rates[f"prepare_{n}"], prepared = prepare_rate(
                data, work / "audio", work / f"cache-{n}", n)
    with console.status("random crops from the cache"):
        rates["crops"] = crop_rate(prepared.dataset["train"], data.crop_samples, args.seconds)
    with console.status(f"predicting {args.predict_files} files"):
        rates.update(predict_rates(paths[: args.predict_files], recipe.model, data,
                                   args.workers))
    return {"files": len(paths), "sample_rate": data.sample_rate,
            "crop_seconds": data.crop_seconds, "rates": rates,
            "cache": cache_cost(prepared, data.sample_rate),
            "torch_threads": torch.get_num_threads()}


def stage_rows(result: dict, workers: int) -> list[dict]:
    """One row per stage: rate, audio seconds per second, and rate over the decode limit."""
    rates = result["rates"]

    def row(stage: str, n: int | str, rate: float, seconds: float, limit: float) -> dict:
        return {"stage": stage, "processes": n, "per_s": rate, "audio_s_per_s": rate * seconds,
                "vs_decode_limit": rate / limit}

    rows = []
    for n in sorted({1, workers}):
        rows.append(row("decode only (limit)", n, rates[f"decode_{n}"], CLIP_SECONDS,
                        rates[f"decode_{n}"]))
        rows.append(row("prepare (files)", n, rates[f"prepare_{n}"], CLIP_SECONDS,
                        rates[f"decode_{n}"]))
    rows.append(row("crops from cache", 1, rates["crops"], result["crop_seconds"],
                    rates["decode_1"]))
    threads = result["torch_threads"]
    rows.append(row("model only, decoded clips (limit)", f"1 ({threads} threads)",
                    rates["model"], CLIP_SECONDS, rates["decode_1"]))
    rows.append(row("predict file by file (files)", f"1 ({threads} threads)",
                    rates["predict_0"], CLIP_SECONDS, rates["decode_1"]))
    for n in sorted({1, workers}):
        rows.append(row("predict library (files)", f"{n} + model ({threads} threads)",
                        rates[f"predict_{n}"], CLIP_SECONDS, rates[f"decode_{n}"]))
    return rows


def projections(result: dict, workers: int, cores: int) -> list[dict]:
    """Disk and preparation time per FMA set on ``cores`` cores (linear in cores and in audio
    duration); the previous format's peak disk was two float32 copies."""
    per_core = result["rates"][f"prepare_{workers}"] / workers * CLIP_SECONDS  # audio s / s
    limit = result["rates"][f"decode_{workers}"] / workers * CLIP_SECONDS
    cache = result["cache"]
    rows = []
    for name, (clips, seconds) in FMA_SETS.items():
        audio = clips * seconds
        samples = audio * cache["samples"] / (result["files"] * CLIP_SECONDS)
        rows.append({
            "set": name, "clips": clips, "audio_hours": audio / 3600,
            "cache_gb": samples * cache["bytes_per_sample"] / 1e9,
            "previous_peak_gb": 2 * samples * FLOAT32_BYTES / 1e9,
            "prepare_minutes": audio / (per_core * cores) / 60,
            "decode_limit_minutes": audio / (limit * cores) / 60,
        })
    return rows


def print_tables(console: Console, result: dict, rows: list[dict], projected: list[dict],
                 cores: int) -> None:
    cache = result["cache"]
    stages = Table(title=f"{result['files']} MP3 clips of {CLIP_SECONDS:g} s, "
                         f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; cache "
                         f"{cache['bytes_per_sample']:.3f} B/sample, "
                         f"{cache['bytes_per_audio_hour'] / 1e6:.0f} MB per audio hour")
    for column in ("stage", "processes", "per s", "audio s per s", "× decode limit"):
        stages.add_column(column, justify="left" if column == "stage" else "right",
                          no_wrap=column == "stage")
    for r in rows:
        stages.add_row(r["stage"], str(r["processes"]), f"{r['per_s']:.1f}",
                       f"{r['audio_s_per_s']:.0f}", f"{r['vs_decode_limit']:.2f}")
    console.print(stages)
    fma = Table(title=f"projected on {cores} cores (linear in cores and track duration)")
    for column in ("set", "clips", "audio h", "cache GB", "before: peak GB", "prepare min",
                   "decode limit min"):
        fma.add_column(column, justify="left" if column == "set" else "right",
                       no_wrap=column == "set")
    for r in projected:
        fma.add_row(r["set"], f"{r['clips']:,}", f"{r['audio_hours']:,.0f}",
                    f"{r['cache_gb']:,.1f}", f"{r['previous_peak_gb']:,.1f}",
                    f"{r['prepare_minutes']:.1f}", f"{r['decode_limit_minutes']:.1f}")
    console.print(fma)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_scale.json", help="JSON results file")
    parser.add_argument("--files", type=int, default=300, help="30 s MP3 clips to generate")
    parser.add_argument("--distinct", type=int, default=10, help="distinct clips among them")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for decoding and data.num_proc for prepare")
    parser.add_argument("--recipe", type=Path, default=REPO / "recipes" / "quickstart.yaml",
                        help="model to predict with; sample rate, crop and loudness")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing budget for crops")
    parser.add_argument("--predict-files", type=int, default=48)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads of this process (default: torch's own choice)")
    parser.add_argument("--cores", type=int, default=16, help="cores of the projected box")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        result = measure(args, Path(tmp), console)
    rows = stage_rows(result, args.workers)
    projected = projections(result, args.workers, args.cores)
    print_tables(console, result, rows, projected, args.cores)
    Path(args.out).write_text(json.dumps({
        "settings": {k: str(v) for k, v in vars(args).items()}, "cpus": os.cpu_count(),
        "load_average_1min": os.getloadavg()[0], **result, "stages": rows,
        "projections": projected}, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
