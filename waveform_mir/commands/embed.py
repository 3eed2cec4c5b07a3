"""``waveform-mir embed FILE_OR_DIR... --model MODEL --out FILE.parquet``: track embeddings.

One row per readable file: its path, the mean of its chunk embeddings (the backbone's pooled
output), its duration and chunk count; for similarity search, clustering or recommenders.
Rows are kept as each file is embedded and a re-run skips the files already in the output
(:class:`~waveform_mir.inference.outputs.EmbeddingTable`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from waveform_mir.inference.outputs import EmbeddingTable

from .inputs import (
    FailureLog,
    add_inference_arguments,
    collect_audio_files,
    load_predictor,
    remaining_files,
    score_files,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "embed", help="track embeddings of audio files to Parquet",
        description="Write each track's embedding (chunk embeddings averaged) to Parquet.")
    add_inference_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="output .parquet file")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = load_predictor(args)
    output = EmbeddingTable(args.out, overwrite=args.overwrite)
    todo = remaining_files(files, output.done)
    try:
        for path, scores in score_files(predictor, todo, failures, args.workers):
            output.write(path, scores)
    finally:  # an interrupted run still leaves a whole Parquet file of what it finished
        table = output.finish()
    if table is None:
        raise ValueError("no file could be embedded; nothing written")
    dim = table.schema.field("embedding").type.list_size
    Console(stderr=True).print(f"{args.out}: {table.num_rows} embeddings of dimension {dim}")
    return 1 if failures.count else 0
