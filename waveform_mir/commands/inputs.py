"""Many audio files for ``predict`` and ``embed``: find them, score them, report the bad ones.

Files are decoded in worker processes while the model scores earlier ones
(:mod:`waveform_mir.inference.library`), with a progress bar in files per second on stderr.
A file that cannot be read costs one red line on stderr, not the run: the others are still
processed, a closing line counts what was scored and skipped, and the command's exit code
says that something was skipped.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from waveform_mir.console import print_error
from waveform_mir.data.audio import AUDIO_EXTENSIONS
from waveform_mir.inference.library import Unreadable, default_workers, score_library
from waveform_mir.inference.outputs import file_key
from waveform_mir.predict import Predictor, TrackScores
from waveform_mir.progress import progress_bar

from .options import add_model_argument


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


def remaining_files(files: list[Path], done: set[str]) -> list[Path]:
    """``files`` less those already in an output (``done``: :func:`file_key` of each) and
    less repeats, in order."""
    seen = set(done)
    remaining = []
    for path in files:
        if file_key(path) not in seen:
            seen.add(file_key(path))
            remaining.append(path)
    return remaining


def score_files(predictor: Predictor, files: list[Path], failures: FailureLog,
                workers: int | None) -> Iterator[tuple[Path, TrackScores]]:
    """Yield ``(file, scores)`` for every readable file, in order, decoded in ``workers``
    processes (``None``: :func:`default_workers`); report the others to ``failures``. A bar
    on stderr shows progress and files/s; a closing line counts what was done."""
    workers = default_workers(len(files)) if workers is None else workers
    stderr = Console(stderr=True, highlight=False)
    scored, started = 0, time.perf_counter()
    with progress_bar("analysing", total=len(files), unit="files", console=stderr,
                      enabled=stderr.is_terminal and len(files) > 1) as advance:
        for path, result in score_library(predictor, files, workers):
            if isinstance(result, Unreadable):
                failures.report(result.reason)
            else:
                scored += 1
                yield path, result
            advance(info=path.name)
    seconds = time.perf_counter() - started
    stderr.print(f"scored {scored} file(s) in {seconds:.1f} s ({scored / seconds:.1f} files/s, "
                 f"{workers} decoder process(es)); {failures.count} skipped"
                 + (" (listed above)" if failures.count else ""))


def add_inference_arguments(parser: argparse.ArgumentParser) -> None:
    """Inputs, ``--model`` and how tracks are cut: the options ``predict`` and ``embed`` share."""
    parser.add_argument("inputs", nargs="+", type=Path, metavar="FILE_OR_DIR",
                        help="audio files, or folders to search for audio files")
    add_model_argument(parser)
    parser.add_argument("--hop-seconds", type=float, default=None,
                        help="distance between chunk starts (default: the one the model was "
                             "evaluated with, recorded in its checkpoint)")
    parser.add_argument("--batch-size", type=int, default=16, help="chunks per forward pass")
    parser.add_argument("--max-seconds", type=float, default=None,
                        help="analyse only the first seconds of each file")
    parser.add_argument("--workers", type=int, default=None,
                        help="processes decoding files while the model scores (default: one "
                             "per core but one, at most 8; 0 decodes in the main process)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start --out afresh instead of skipping the files already in it")


def load_predictor(args: argparse.Namespace) -> Predictor:
    """The :class:`Predictor` the options of :func:`add_inference_arguments` describe."""
    return Predictor.from_pretrained(args.model, hop_seconds=args.hop_seconds,
                                     batch_size=args.batch_size, max_seconds=args.max_seconds)
