"""``waveform-mir prepare RECIPE``: decode and cache a recipe's data ahead of training.

So that a cluster job does not spend its first hour decoding MP3, and to show what the data
holds: tracks per split and genre, and how many files were skipped, with the report that says
why.
"""

from __future__ import annotations

import argparse

import numpy as np
from rich.console import Console
from rich.table import Table

from waveform_mir.data import PreparedData, prepare_dataset
from waveform_mir.data.manifest import SPLITS
from waveform_mir.data.prepare import DecodeThroughput

from .options import add_progress_argument, add_recipe_arguments, recipe_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "prepare", help="decode and cache a recipe's dataset; print tracks per split and genre")
    add_recipe_arguments(parser, "YAML recipe file")
    parser.add_argument("--refresh", action="store_true",
                        help="decode again even if a cache entry exists")
    add_progress_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    prepared = prepare_dataset(recipe.data, progress=args.progress, refresh=args.refresh)
    console = Console()
    splits = SPLITS if prepared.stream is None else SPLITS[1:]
    if prepared.stream is not None:
        console.print("train split streamed: decoded while training reads it; validation and "
                      "test are cached")
    console.print(summary_table(prepared, splits))
    for reason, count in prepared.dropped.items():
        console.print(f"dropped before decoding: {count} ({reason})")
    console.print(f"skipped files: {len(prepared.skipped)}"
                  + (f" (report: {prepared.report_path})" if prepared.report_path else ""))
    if prepared.throughput is not None:
        console.print(throughput_line(prepared.throughput))
    if prepared.cache_path:
        console.print(f"cache: {prepared.cache_path}")
    return 0


# Clip counts of the FMA sets, for the projection printed after a preparation.
FMA_CLIPS = {"fma_small": 8_000, "fma_medium": 25_000, "fma_large": 106_574}


def throughput_line(throughput: DecodeThroughput) -> str:
    """Files/s in all and per worker, and the time the FMA sets would take at that rate
    (clips of the length just decoded; more workers scale it up to the number of cores)."""
    rate = throughput.files_per_second
    projected = ", ".join(f"{name} {clips / rate / 60:.0f} min"
                          for name, clips in FMA_CLIPS.items())
    return (f"decoded {throughput.files} files in {throughput.seconds:.1f} s: {rate:.1f} "
            f"files/s, {throughput.files_per_second_per_worker:.1f} per worker "
            f"({throughput.workers} worker{'s' * (throughput.workers != 1)}); at this rate "
            f"{projected}")


def summary_table(prepared: PreparedData, splits: tuple[str, ...] = SPLITS) -> Table:
    """Tracks per genre (rows) and split (columns) of ``splits``, with totals."""
    counts = {
        split: np.bincount(
            np.asarray(prepared.dataset[split].with_format("numpy")["label"], dtype=np.int64),
            minlength=len(prepared.label_names),
        )
        for split in splits
    }
    table = Table(title="tracks per split and genre")
    table.add_column("genre")
    for split in (*splits, "total"):
        table.add_column(split, justify="right")
    for index, name in enumerate(prepared.label_names):
        row = [int(counts[split][index]) for split in splits]
        last = index == len(prepared.label_names) - 1
        table.add_row(name, *map(str, row), str(sum(row)), end_section=last)
    totals = [int(counts[split].sum()) for split in splits]
    table.add_row("[bold]total", *map(str, totals), str(sum(totals)))
    return table
