"""``waveform-mir download fma --size SIZE --to DIR``: fetch, verify and unpack FMA."""

from __future__ import annotations

import argparse

from rich.console import Console

from waveform_mir.console import print_error
from waveform_mir.data.download import FMA_SIZES, DownloadError, download_fma

from .options import add_progress_argument


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "download", help="download, verify and unpack a dataset (FMA)")
    parser.add_argument("dataset", choices=["fma"], help="dataset to download")
    parser.add_argument("--size", choices=FMA_SIZES, default="small", help="FMA subset archive")
    parser.add_argument("--to", required=True, help="folder to unpack into (the builder's root)")
    parser.add_argument("--keep-zip", action="store_true", help="keep archives after unpacking")
    add_progress_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        root = download_fma(args.size, args.to, progress=args.progress, keep_zip=args.keep_zip)
    except DownloadError as error:
        print_error(error)
        return 1
    Console().print(f"FMA {args.size} ready under {root} "
                    f"(recipe: data.source=fma, data.options.root={root})")
    return 0
