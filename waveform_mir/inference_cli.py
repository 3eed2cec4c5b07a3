"""``waveform-mir predict`` and ``waveform-mir embed``: score or embed many audio files.

Both take files and folders (walked for audio), load the model once and go through the files
one by one. A file that cannot be read costs one red line, not the run: the others are still
processed and the exit code is 1 at the end. Results go to stdout (a table or JSON lines);
problems go to stderr, so ``--json`` output stays machine-readable.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from waveform_mir.console import print_error
from waveform_mir.data import AudioDecodeError
from waveform_mir.data.audio import AUDIO_EXTENSIONS
from waveform_mir.predict import Predictor, TrackScores
from waveform_mir.progress import progress_bar


class FailureLog:
    """Reports unreadable inputs on stderr as they happen and remembers whether any occurred."""

    def __init__(self) -> None:
        self.count = 0

    def report(self, message: str) -> None:
        self.count += 1
        print_error(message, label="skipped")


def collect_audio_files(inputs: list[Path], failures: FailureLog) -> list[Path]:
    """Files as given plus the audio files under given folders (recursive, sorted)."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            found = sorted(p for p in item.rglob("*")
                           if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS)
            if not found:
                failures.report(f"{item}: folder holds no audio files "
                                f"({', '.join(sorted(AUDIO_EXTENSIONS))})")
            files.extend(found)
        elif item.exists():
            files.append(item)
        else:
            failures.report(f"{item}: file not found")
    return files


def score_files(predictor: Predictor, files: list[Path], failures: FailureLog,
                show_progress: bool) -> Iterator[tuple[Path, TrackScores]]:
    """Yield ``(file, scores)`` for every readable file; report the others to ``failures``."""
    with progress_bar("analysing", total=len(files), enabled=show_progress) as advance:
        for path in files:
            try:
                yield path, predictor.score_file(path)
            except (AudioDecodeError, OSError) as error:
                failures.report(str(error) if str(path) in str(error) else f"{path}: {error}")
            advance(info=path.name)


def _add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_DIR",
                        help="audio files, or folders to search for audio files")
    parser.add_argument("--model", required=True,
                        help="model folder, training run folder (uses best/) or Hub model id")
    parser.add_argument("--hop-seconds", type=float, default=None,
                        help="distance between chunk starts (default: the one the model was "
                             "evaluated with, recorded in its checkpoint)")
    parser.add_argument("--batch-size", type=int, default=16, help="chunks per forward pass")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="analyse only the first seconds of each file")


def _load(args: argparse.Namespace) -> Predictor:
    return Predictor.from_pretrained(args.model, hop_seconds=args.hop_seconds,
                                     batch_size=args.batch_size, max_seconds=args.max_seconds)


def add_predict_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "predict", help="genre scores of audio files",
        description="Print the most probable genres of each audio file.")
    _add_common_arguments(parser)
    parser.add_argument("--top-k", type=int, default=3, help="genres shown per file")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--timeline", action="store_true",
                        help="also show the scores of every chunk over time")
    parser.set_defaults(func=run_predict)


def add_embed_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "embed", help="track embeddings of audio files to Parquet",
        description="Write each track's embedding (chunk embeddings averaged) to Parquet.")
    _add_common_arguments(parser)
    parser.add_argument("--out", type=Path, required=True, help="output .parquet file")
    parser.set_defaults(func=run_embed)


def run_predict(args: argparse.Namespace) -> int:
    if args.top_k < 1:
        raise ValueError(f"--top-k must be at least 1, got {args.top_k}")
    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = _load(args)
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


def run_embed(args: argparse.Namespace) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    failures = FailureLog()
    files = collect_audio_files(args.inputs, failures)
    predictor = _load(args)
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

