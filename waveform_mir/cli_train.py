"""``waveform-mir train``: the same entry point as ``accelerate launch -m waveform_mir.train``."""

from __future__ import annotations

from waveform_mir.train import add_train_arguments, run_from_args


def add_train_parser(subparsers) -> None:
    parser = subparsers.add_parser("train", help="train a model from a recipe",
                                   description="Train a waveform classifier from a YAML recipe.")
    add_train_arguments(parser).set_defaults(func=run_from_args)
