"""``waveform-mir evaluate MODEL``: score a saved model on a split, track level, with plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from waveform_mir.evaluation.checkpoint import evaluate_checkpoint

SPLITS = ["train", "validation", "test"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="score a saved model on a split",
                                   description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path, help="model folder or training run folder")
    parser.add_argument("--data", default=None, help="recipe YAML or audio folder to score on")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--out", type=Path, default=None, help="where metrics and plots go")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--calibrate", default=None, metavar="SPLIT", choices=SPLITS,
                        help="first fit the model's temperature on this split (e.g. validation) "
                             "and save it with the model")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    evaluate_checkpoint(args.checkpoint, args.data, args.split, args.out, args.batch_size,
                        calibrate_on=args.calibrate)
    return 0
