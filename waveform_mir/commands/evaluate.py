"""``waveform-mir evaluate MODEL [MODEL ...]``: score a saved model on a split, track level,
with plots; several models are scored as one (their probabilities averaged: seed averaging)."""

from __future__ import annotations

import argparse
from pathlib import Path

from waveform_mir.evaluation.checkpoint import evaluate_checkpoint
from waveform_mir.evaluation.ensemble import evaluate_ensemble
from waveform_mir.evaluation.uncertainty import Bootstrap

from .options import add_bootstrap_argument

SPLITS = ["train", "validation", "test"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("evaluate", help="score a saved model on a split",
                                   description=" ".join(__doc__.split()))
    parser.add_argument("checkpoints", type=Path, nargs="+", metavar="checkpoint",
                        help="model folder or training run folder; several: their average "
                             "(e.g. the seeds of one recipe)")
    parser.add_argument("--data", default=None, help="recipe YAML or audio folder to score on")
    parser.add_argument("--split", default="test", choices=SPLITS)
    parser.add_argument("--out", type=Path, default=None, help="where metrics and plots go")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--calibrate", default=None, metavar="SPLIT", choices=SPLITS,
                        help="first fit the model's temperature on this split (e.g. validation) "
                             "and save it with the model; for several models, the temperature "
                             "of their average (reported, not saved)")
    add_bootstrap_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    bootstrap = Bootstrap(resamples=args.resamples)
    if len(args.checkpoints) > 1:
        evaluate_ensemble(args.checkpoints, args.data, args.split, args.out, args.batch_size,
                          calibrate_on=args.calibrate, bootstrap=bootstrap)
        return 0
    evaluate_checkpoint(args.checkpoints[0], args.data, args.split, args.out, args.batch_size,
                        calibrate_on=args.calibrate, bootstrap=bootstrap)
    return 0
