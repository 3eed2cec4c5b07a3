"""``waveform-mir train RECIPE``, also ``accelerate launch -m waveform_mir.train RECIPE``."""

from __future__ import annotations

import argparse
from pathlib import Path

from accelerate import PartialState
from rich.console import Console

from waveform_mir.config import Recipe
from waveform_mir.console import print_error
from waveform_mir.cross_validation import cross_validate, pooled_summary
from waveform_mir.evaluation.track_outputs import TRACKS_FILE
from waveform_mir.train import train
from waveform_mir.training.loop import TrainingDiverged

from .options import add_folds_argument, add_recipe_arguments, recipe_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model from a recipe",
                                   description="Train a waveform classifier from a YAML recipe.")
    add_recipe_arguments(parser, "YAML recipe (see recipes/)")
    parser.add_argument("--resume", default=None,
                        help="'latest' or a checkpoint folder to continue from")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="push the best model to this Hub repository when done")
    add_folds_argument(parser)
    parser.set_defaults(func=run)


def train_fold(recipe: Recipe) -> dict[str, Path]:
    """Train one fold (resuming it; a finished fold is read back) → its test outputs."""
    folder = Path(recipe.train.output_dir)
    if not (folder / TRACKS_FILE).is_file() or not (folder / "train_summary.json").is_file():
        train(recipe, resume="latest")
    return {"model": folder / TRACKS_FILE}


def run(args: argparse.Namespace) -> int:
    recipe = recipe_from_args(args)
    try:
        if args.folds:
            rows = cross_validate(recipe, args.folds, train_fold)
            if PartialState().is_main_process:
                Console().print(pooled_summary(rows, args.folds))
            return 0
        train(recipe, resume=args.resume, push_to_hub=args.push_to_hub)
    except TrainingDiverged as error:
        print_error(error, label="training stopped")
        return 1
    return 0
