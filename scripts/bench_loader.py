"""Benchmark: random-crop batches per second from the decoded cache vs decoding MP3 per access.

Why: training reads every track many times; this measures what decoding once buys. Both
loaders serve the same crops of the same MP3 files in one run:

* generated: synthetic clips written as MP3 (FMA-like 30 s clips at 44.1 kHz);
* real: GTZAN clips from ``../shared/data/realmusic`` (WAV/FLAC) re-encoded to MP3, if present.

Usage: ``python scripts/bench_loader.py [--out bench_loader.json] [--tracks 32]``
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
from rich.console import Console
from rich.table import Table

from waveform_mir.config import DataConfig
from waveform_mir.data import RandomCropDataset, collate, decode_audio, prepare_dataset
from waveform_mir.data.folder import read_labels_csv
from waveform_mir.data.synthetic import write_synthetic_folder

REALMUSIC = Path(__file__).resolve().parents[1].parent / "shared/data/realmusic"


class DecodeEachAccess(torch.utils.data.Dataset):
    """The baseline: decode the whole file on every access, then take a random crop."""

    def __init__(self, paths: list[str], labels: list[int], crop: int, sample_rate: int):
        self.paths, self.labels, self.crop, self.rate = paths, labels, crop, sample_rate
        self.rng = np.random.default_rng(0)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict:
        wave = decode_audio(self.paths[index], self.rate)
        start = int(self.rng.integers(0, max(wave.shape[0] - self.crop, 0) + 1))
        crop = np.zeros(self.crop, np.float32)
        piece = wave[start : start + self.crop]
        crop[: piece.shape[0]] = piece
        return {"waveform": torch.from_numpy(crop), "label": self.labels[index]}


def batches_per_second(dataset, batch_size: int, seconds: float, seed: int = 0) -> float:
    """Batches of random indices served in about ``seconds`` (at least two batches)."""
    rng = np.random.default_rng(seed)
    done, start = 0, time.perf_counter()
    while done < 2 or time.perf_counter() - start < seconds:
        collate([dataset[int(i)] for i in rng.integers(0, len(dataset), batch_size)])
        done += 1
    return done / (time.perf_counter() - start)


def bench_folder(name: str, root: Path, args: argparse.Namespace, work: Path) -> dict:
    config = DataConfig(source="folder", options={"root": str(root)},
                        sample_rate=args.sample_rate, crop_seconds=args.crop_seconds,
                        cache_dir=str(work / "cache"), num_proc=args.num_proc)
    start = time.perf_counter()
    split = prepare_dataset(config, progress=False).dataset["train"]
    prepare_seconds = time.perf_counter() - start
    cached = RandomCropDataset(split, config.crop_samples)
    decoding = DecodeEachAccess(list(split["path"]), list(split["label"]),
                                config.crop_samples, config.sample_rate)
    cache_rate = batches_per_second(cached, args.batch_size, args.seconds)
    decode_rate = batches_per_second(decoding, args.batch_size, args.seconds)
    durations = np.array([len(w) for w in split.with_format("numpy")["waveform"]])
    return {
        "dataset": name, "tracks": len(split), "mean_track_seconds":
            round(float(durations.mean()) / config.sample_rate, 2),
        "prepare_seconds": round(prepare_seconds, 2),
        "cache_batches_per_s": round(cache_rate, 2),
        "decode_batches_per_s": round(decode_rate, 3),
        "speedup": round(cache_rate / decode_rate, 1),
    }


def generated_mp3s(root: Path, tracks: int) -> Path:
    write_synthetic_folder(root, num_per_class={"train": max(1, tracks // 8)}, seconds=30.0,
                           sample_rate=44100, audio_format="mp3")
    return root


def real_mp3s(source: Path, root: Path, tracks: int) -> Path:
    """Re-encode the first ``tracks`` test clips (15-20 s) of the real-music folder as MP3."""
    table = read_labels_csv(source / "labels.csv")
    table = table[table["split"] == "test"].iloc[:: max(1, 100 // tracks)].head(tracks)
    root.mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split"])
        for path, label in zip(table["path"], table["label"], strict=True):
            audio, rate = sf.read(path, dtype="float32")
            name = Path(path).with_suffix(".mp3").name
            sf.write(root / name, audio, rate)
            writer.writerow([name, label, "train"])
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench_loader.json", help="JSON results file")
    parser.add_argument("--tracks", type=int, default=32, help="tracks per dataset")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--crop-seconds", type=float, default=3.0)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--seconds", type=float, default=5.0, help="timing budget per loader")
    parser.add_argument("--num-proc", type=int, default=2, help="decode workers for prepare")
    parser.add_argument("--realmusic", type=Path, default=REALMUSIC)
    args = parser.parse_args()
    torch.set_num_threads(1)
    console = Console()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with console.status("generating 30 s MP3 clips"):
            generated = generated_mp3s(work / "generated", args.tracks)
        results.append(bench_folder("generated MP3 30 s", generated, args, work / "g"))
        if (args.realmusic / "labels.csv").is_file():
            with console.status("encoding real clips to MP3"):
                real = real_mp3s(args.realmusic, work / "real", args.tracks)
            results.append(bench_folder("real GTZAN MP3", real, args, work / "r"))
        else:
            console.print(f"[yellow]real-music clips not found at {args.realmusic}; skipped")
    table = Table(title=f"random-crop batches/s (batch {args.batch_size}, "
                        f"crop {args.crop_seconds:g} s at {args.sample_rate} Hz)")
    for column in results[0]:
        table.add_column(column.replace("_", " "), justify="left" if column == "dataset"
                         else "right")
    for row in results:
        table.add_row(*(str(v) for v in row.values()))
    console.print(table)
    Path(args.out).write_text(json.dumps({"settings": {k: str(v) for k, v in vars(args).items()},
                                          "results": results}, indent=2))
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
