"""``waveform-mir train RECIPE``, also ``accelerate launch -m waveform_mir.train RECIPE``."""

from __future__ import annotations

import argparse

from waveform_mir.console import print_error
from waveform_mir.train import train
from waveform_mir.training.loop import TrainingDiverged

from .options import add_recipe_arguments, recipe_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model from a recipe",
                                   description="Train a waveform classifier from a YAML recipe.")
    add_recipe_arguments(parser, "YAML recipe (see recipes/)")
    parser.add_argument("--resume", default=None,
                        help="'latest' or a checkpoint folder to continue from")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="push the best model to this Hub repository when done")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        train(recipe_from_args(args), resume=args.resume, push_to_hub=args.push_to_hub)
    except TrainingDiverged as error:
        print_error(error, label="training stopped")
        return 1
    return 0
