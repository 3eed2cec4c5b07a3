"""Many audio files for ``predict`` and ``embed``: find them, score them, report the bad ones.

A file that cannot be read costs one red line on stderr, not the run: the others are still
processed, and the command's exit code says at the end that something was skipped.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

from waveform_mir.console import print_error
from waveform_mir.data import AudioDecodeError
from waveform_mir.data.audio import AUDIO_EXTENSIONS
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


def load_predictor(args: argparse.Namespace) -> Predictor:
    """The :class:`Predictor` the options of :func:`add_inference_arguments` describe."""
    return Predictor.from_pretrained(args.model, hop_seconds=args.hop_seconds,
                                     batch_size=args.batch_size, max_seconds=args.max_seconds)
