"""``waveform-mir baseline RECIPE``: hand-made features (or a trained model's embeddings)
+ scikit-learn on a recipe's data."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from waveform_mir.baseline.classifiers import CLASSIFIERS
from waveform_mir.baseline.run import (
    FEATURE_CHUNK_SECONDS,
    default_output_dir,
    run_baseline,
    tracks_file,
)
from waveform_mir.config import Recipe
from waveform_mir.cross_validation import cross_validate, pooled_summary
from waveform_mir.evaluation.uncertainty import Bootstrap

from .options import (
    add_bootstrap_argument,
    add_folds_argument,
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
    add_folds_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    names = [name.strip() for name in args.classifiers.split(",") if name.strip()]
    recipe = recipe_from_args(args)
    bootstrap = Bootstrap(resamples=args.resamples)

    def run_fold(fold: Recipe, out: Path | None = None) -> dict[str, Path]:
        folder = out or Path(fold.train.output_dir)
        run_baseline(fold, names, out or folder, chunk_seconds=args.chunk_seconds,
                     embeddings_from=args.embeddings_from, n_jobs=args.jobs,
                     progress=args.progress, bootstrap=bootstrap)
        return {name: folder / tracks_file(name) for name in names}

    if not args.folds:
        run_fold(recipe, args.out)
        return 0
    out = args.out or default_output_dir(recipe)
    rows = cross_validate(recipe, args.folds, run_fold, out, bootstrap=bootstrap)
    Console().print(pooled_summary(rows, args.folds))
    return 0
