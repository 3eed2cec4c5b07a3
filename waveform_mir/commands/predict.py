"""``waveform-mir predict FILE_OR_DIR... --model MODEL``: the genres of audio files.

Results go to stdout (a table, or JSON lines streamed as each file is scored); problems go to
stderr, so ``--json`` output stays machine-readable.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from waveform_mir.predict import TrackScores

from .inputs import (
    FailureLog,
    add_inference_arguments,
    collect_audio_files,
    load_predictor,
    score_files,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="genre scores of audio files",
        description="Print the most probable genres of each audio file.")
    add_inference_arguments(parser)
    parser.add_argument("--top-k", type=int, default=3, help="genres shown per file")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--timeline", action="store_true",
                        help="also show the scores of every chunk over time")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = load_predictor(args)
    out = Console(highlight=False)
    show_progress = not args.json and out.is_terminal and len(files) > 1
    results = []
    for path, scores in score_files(predictor, files, failures, show_progress):
        if args.json:  # stream: one line per file as soon as it is scored
            print(json.dumps(prediction_record(path, scores, args.top_k, args.timeline)),
                  flush=True)
        else:
            results.append((path, scores))
    if results:
        out.print(prediction_table(results, args.top_k))
        for path, scores in results if args.timeline else []:
            out.print(timeline_table(path, scores, args.top_k))
    return 1 if failures.count else 0


def prediction_record(path: Path, scores: TrackScores, top_k: int, timeline: bool) -> dict:
    """JSON-ready result of one file; ``timeline`` adds every chunk's start and scores."""
    record = {
        "file": str(path),
        "top": [{"genre": g, "probability": round(p, 6)} for g, p in scores.top_k(top_k)],
        "probabilities": {g: round(p, 6) for g, p in scores.probabilities.items()},
        "duration_s": round(scores.duration_s, 3),
        "truncated": scores.truncated,
    }
    if timeline:
        record["timeline"] = [
            {"start_s": round(float(start), 3),
             "probabilities": {g: round(float(p), 6) for g, p in zip(scores.labels, row,
                                                                      strict=True)}}
            for start, row in zip(scores.chunk_starts_s, scores.timeline, strict=True)
        ]
    return record


def prediction_table(results: list[tuple[Path, TrackScores]], top_k: int) -> Table:
    """One row per file: its ``top_k`` genres with probabilities."""
    table = Table(title="genre predictions")
    table.add_column("file", overflow="fold")
    for rank in range(1, top_k + 1):
        table.add_column(f"#{rank}")
    table.add_column("seconds", justify="right")
    for path, scores in results:
        ranked = [f"{genre} {probability:.2f}" for genre, probability in scores.top_k(top_k)]
        ranked += [""] * (top_k - len(ranked))
        seconds = f"{scores.duration_s:.1f}" + ("+" if scores.truncated else "")
        table.add_row(str(path), *ranked, seconds)
    return table


def timeline_table(path: Path, scores: TrackScores, top_k: int) -> Table:
    """One row per chunk: its start time and its ``top_k`` genres."""
    table = Table(title=f"timeline: {path}")
    table.add_column("start (s)", justify="right")
    for rank in range(1, top_k + 1):
        table.add_column(f"#{rank}")
    for start, ranked in zip(scores.chunk_starts_s, scores.chunk_top_k(top_k), strict=True):
        table.add_row(f"{start:.1f}", *(f"{g} {p:.2f}" for g, p in ranked))
    return table
