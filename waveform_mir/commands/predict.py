"""``waveform-mir predict FILE_OR_DIR... --model MODEL``: the genres of audio files.

Results go to stdout (a table, or JSON lines streamed as each file is scored) or, with
``--out FILE``, to a JSON-lines file that a re-run continues (see
:mod:`waveform_mir.inference.outputs`); problems go to stderr, so ``--json`` output stays
machine-readable.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from waveform_mir.inference.outputs import JsonLines
from waveform_mir.predict import TrackScores

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
        "predict", help="genre scores of audio files",
        description="Print the most probable genres of each audio file.")
    add_inference_arguments(parser)
    parser.add_argument("--top-k", type=int, default=3, help="genres shown per file")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--out", type=Path, default=None,
                        help="append the JSON lines to this file instead; files already in it "
                             "are skipped, so a run that was stopped continues where it was")
    parser.add_argument("--timeline", action="store_true",
                        help="also show the scores of every chunk over time")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = load_predictor(args)
    predictor.require_labels()
    output = JsonLines(args.out, overwrite=args.overwrite) if args.out else None
    todo = remaining_files(files, output.done if output else set())
    results: list[tuple[Path, TrackScores]] = []
    emit = result_sink(args, output, results)
    try:
        for path, scores in score_files(predictor, todo, failures, args.workers):
            emit(path, scores)
    finally:
        if output is not None:
            output.close()
    out = Console(highlight=False)
    if results:
        out.print(prediction_table(results, args.top_k))
        for path, scores in results if args.timeline else []:
            out.print(timeline_table(path, scores, args.top_k))
    return 1 if failures.count else 0


def result_sink(args: argparse.Namespace, output: JsonLines | None,
                results: list[tuple[Path, TrackScores]]) -> Callable[[Path, TrackScores], None]:
    """Where each file's result goes as soon as it is scored: a line of ``output``, a JSON
    line on stdout (``--json``), or ``results`` for the table printed at the end."""
    def record(path: Path, scores: TrackScores) -> dict:
        return prediction_record(path, scores, args.top_k, args.timeline)

    if output is not None:
        return lambda path, scores: output.write(record(path, scores))
    if args.json:
        return lambda path, scores: print(json.dumps(record(path, scores)), flush=True)
    return lambda path, scores: results.append((path, scores))


def prediction_record(path: Path, scores: TrackScores, top_k: int, timeline: bool) -> dict:
    """JSON-ready result of one file; ``timeline`` adds every chunk's start and scores."""
    record = {
        "file": str(path),
        "top": [{"genre": g, "probability": round(p, 6)} for g, p in scores.top_k(top_k)],
        "probabilities": {g: round(p, 6) for g, p in scores.probabilities.items()},
        "duration_s": round(scores.duration_s, 3),
        "truncated": scores.truncated,
    }
    if scores.thresholds is not None:  # a tagger: the tags it finds present
        record["tags"] = [{"tag": t, "probability": round(p, 6)} for t, p in scores.tags]
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
    tagger = any(scores.thresholds is not None for _, scores in results)
    if tagger:
        table.add_column("tags present (≥ threshold)", overflow="fold")
    table.add_column("seconds", justify="right")
    for path, scores in results:
        ranked = [f"{genre} {probability:.2f}" for genre, probability in scores.top_k(top_k)]
        ranked += [""] * (top_k - len(ranked))
        present = [", ".join(f"{t} {p:.2f}" for t, p in scores.tags) or "–"] if tagger else []
        seconds = f"{scores.duration_s:.1f}" + ("+" if scores.truncated else "")
        table.add_row(str(path), *ranked, *present, seconds)
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
