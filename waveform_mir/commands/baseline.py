"""``waveform-mir baseline RECIPE``: hand-made features (or a trained model's embeddings)
+ scikit-learn on a recipe's data."""

from __future__ import annotations

import argparse
from pathlib import Path

from waveform_mir.baseline.classifiers import CLASSIFIERS
from waveform_mir.baseline.run import FEATURE_CHUNK_SECONDS, run_baseline
from waveform_mir.evaluation.uncertainty import Bootstrap

from .options import (
    add_bootstrap_argument,
    add_progress_argument,
    add_recipe_arguments,
    recipe_from_args,
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "baseline", help="hand-made features + scikit-learn classifiers on a recipe's data",
        description="The FMA paper's feature baseline, scored like the end-to-end models.")
    add_recipe_arguments(parser, "YAML recipe (only its data section is used)")
    parser.add_argument("--classifiers", default=",".join(CLASSIFIERS),
                        help=f"comma-separated subset of {','.join(CLASSIFIERS)}")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: <train.output_dir>/baseline)")
    parser.add_argument("--chunk-seconds", type=float, default=FEATURE_CHUNK_SECONDS,
                        help="length of the chunks each feature vector summarises")
    parser.add_argument("--embeddings-from", metavar="MODEL", default=None,
                        help="describe each track by this trained model's embedding (model or "
                             "run folder, or Hub id) instead of hand-made features: a probe")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="feature-extraction workers (-1: all cores)")
    add_progress_argument(parser)
    add_bootstrap_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [name.strip() for name in args.classifiers.split(",") if name.strip()]
    run_baseline(recipe_from_args(args), names, args.out, chunk_seconds=args.chunk_seconds,
                 embeddings_from=args.embeddings_from, n_jobs=args.jobs, progress=args.progress,
                 bootstrap=Bootstrap(resamples=args.resamples))
    return 0
