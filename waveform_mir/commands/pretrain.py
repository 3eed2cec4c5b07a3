"""``waveform-mir pretrain RECIPE``, also ``accelerate launch -m waveform_mir.pretrain RECIPE``."""

from __future__ import annotations

import argparse

from waveform_mir.console import print_error
from waveform_mir.pretrain import pretrain
from waveform_mir.training.loop import TrainingDiverged

from .options import add_recipe_arguments, recipe_from_args


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "pretrain", help="self-supervised pretraining of a front-end and backbone",
        description="Pretrain a recipe's front-end and backbone on unlabelled audio with a "
                    "contrastive objective (two augmented views of one track are a positive "
                    "pair); fine-tune the result with train.init_from.")
    add_recipe_arguments(parser, "YAML recipe with a pretrain section (see recipes/pretrain/)")
    parser.add_argument("--resume", default=None,
                        help="'latest' or a checkpoint folder to continue from")
    parser.add_argument("--push-to-hub", default=None, metavar="REPO_ID",
                        help="push the best encoder to this Hub repository when done")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        pretrain(recipe_from_args(args), resume=args.resume, push_to_hub=args.push_to_hub)
    except TrainingDiverged as error:
        print_error(error, label="pretraining stopped")
        return 1
    return 0
