"""``waveform-mir embed FILE_OR_DIR... --model MODEL --out FILE.parquet``: track embeddings.

One row per readable file: its path, the mean of its chunk embeddings (the backbone's pooled
output), its duration and chunk count; for similarity search, clustering or recommenders.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from rich.console import Console

from .inputs import (
    FailureLog,
    add_inference_arguments,
    collect_audio_files,
    load_predictor,
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
    import pyarrow as pa
    import pyarrow.parquet as pq

    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = load_predictor(args)
    show_progress = Console().is_terminal and len(files) > 1
    rows = list(score_files(predictor, files, failures, show_progress))
    if not rows:
        raise ValueError("no file could be embedded; nothing written")
    embeddings = np.stack([scores.embedding for _, scores in rows]).astype(np.float32)
    table = pa.table({
        "path": [str(path) for path, _ in rows],
        "embedding": pa.FixedSizeListArray.from_arrays(embeddings.reshape(-1),
                                                       embeddings.shape[1]),
        "duration_s": [scores.duration_s for _, scores in rows],
        "num_chunks": [int(scores.timeline.shape[0]) for _, scores in rows],
    })
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, args.out)
    Console(stderr=True).print(
        f"wrote {len(rows)} embeddings of dimension {embeddings.shape[1]} to {args.out}")
    return 1 if failures.count else 0
