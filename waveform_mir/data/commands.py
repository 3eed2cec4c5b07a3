"""The ``prepare`` and ``download`` sub-commands of ``waveform-mir``.

``prepare`` decodes and caches a recipe's data ahead of training (so a cluster job does not
spend its first hour decoding MP3) and shows what the data holds: tracks per split and genre,
and how many files were skipped, with the report that says why. ``download`` fetches FMA.
"""

from __future__ import annotations

import argparse

import datasets
import numpy as np
from rich.console import Console
from rich.table import Table

from ..config import load_recipe
from ..console import print_error
from .download import FMA_SIZES, DownloadError, download_fma
from .manifest import SPLITS
from .prepare import PreparedData, prepare_dataset


def add_prepare_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "prepare", help="decode and cache a recipe's dataset; print tracks per split and genre"
    )
    parser.add_argument("recipe", help="YAML recipe file")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a recipe value, e.g. data.num_proc=4")
    parser.add_argument("--refresh", action="store_true",
                        help="decode again even if a cache entry exists")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bar")
    parser.set_defaults(func=run_prepare)


def add_download_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "download", help="download, verify and unpack a dataset (FMA)"
    )
    parser.add_argument("dataset", choices=["fma"], help="dataset to download")
    parser.add_argument("--size", choices=FMA_SIZES, default="small", help="FMA subset archive")
    parser.add_argument("--to", required=True, help="folder to unpack into (the builder's root)")
    parser.add_argument("--keep-zip", action="store_true", help="keep archives after unpacking")
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bar")
    parser.set_defaults(func=run_download)


def run_prepare(args: argparse.Namespace) -> int:
    recipe = load_recipe(args.recipe, args.overrides)
    prepared = prepare_dataset(recipe.data, progress=args.progress, refresh=args.refresh)
    console = Console()
    if isinstance(prepared.dataset, datasets.IterableDatasetDict):
        console.print("streamed dataset: nothing cached, audio decodes while training reads it")
        return 0
    console.print(summary_table(prepared))
    for reason, count in prepared.dropped.items():
        console.print(f"dropped before decoding: {count} ({reason})")
    console.print(f"skipped files: {len(prepared.skipped)}"
                  + (f" (report: {prepared.report_path})" if prepared.report_path else ""))
    if prepared.cache_path:
        console.print(f"cache: {prepared.cache_path}")
    return 0


def run_download(args: argparse.Namespace) -> int:
    try:
        root = download_fma(args.size, args.to, progress=args.progress, keep_zip=args.keep_zip)
    except DownloadError as error:
        print_error(error)
        return 1
    Console().print(f"FMA {args.size} ready under {root} "
                    f"(recipe: data.source=fma, data.options.root={root})")
    return 0


def summary_table(prepared: PreparedData) -> Table:
    """Tracks per genre (rows) and split (columns), with totals."""
    counts = {
        split: np.bincount(
            np.asarray(prepared.dataset[split].with_format("numpy")["label"], dtype=np.int64),
            minlength=len(prepared.label_names),
        )
        for split in SPLITS
    }
    table = Table(title="tracks per split and genre")
    table.add_column("genre")
    for split in (*SPLITS, "total"):
        table.add_column(split, justify="right")
    for index, name in enumerate(prepared.label_names):
        row = [int(counts[split][index]) for split in SPLITS]
        last = index == len(prepared.label_names) - 1
        table.add_row(name, *map(str, row), str(sum(row)), end_section=last)
    totals = [int(counts[split].sum()) for split in SPLITS]
    table.add_row("[bold]total", *map(str, totals), str(sum(totals)))
    return table
