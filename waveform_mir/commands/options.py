"""Options shared by several sub-commands, defined once so they read and behave alike."""

from __future__ import annotations

import argparse

from waveform_mir.config import Recipe, load_recipe


def add_overrides(parser: argparse.ArgumentParser,
                  what: str = "e.g. train.lr=3e-4 or model.frontend.name=leaf"
                  ) -> argparse.ArgumentParser:
    """Any number of ``--set section.key=value`` recipe overrides, into ``args.overrides``."""
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help=f"dotted recipe override, {what} (repeatable)")
    return parser


def add_recipe_arguments(parser: argparse.ArgumentParser, what: str = "YAML recipe"
                         ) -> argparse.ArgumentParser:
    """A recipe path and its ``--set`` overrides."""
    parser.add_argument("recipe", help=what)
    return add_overrides(parser)


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    """The recipe :func:`add_recipe_arguments` named, with its overrides applied."""
    return load_recipe(args.recipe, args.overrides)


def add_folds_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--folds K``: K runs over folds of the union of the splits, grouped by track and
    artist, their test tracks pooled (:mod:`waveform_mir.cross_validation`)."""
    parser.add_argument("--folds", type=int, default=None, metavar="K",
                        help="cross-validate: K folds over all tracks (grouped by track and "
                             "artist), every track tested once, scores pooled")
    return parser


def add_model_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--model``: a model folder, a training run folder or a Hub model id."""
    parser.add_argument("--model", required=True,
                        help="model folder, training run folder (uses best/) or Hub model id")
    return parser


def add_progress_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--no-progress``: hide progress bars (logs, CI)."""
    parser.add_argument("--no-progress", dest="progress", action="store_false",
                        help="hide the progress bars")
    return parser


def add_bootstrap_argument(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``--resamples``: bootstrap resamples of the test tracks behind every 95 % interval."""
    parser.add_argument("--resamples", type=int, default=1000, metavar="N",
                        help="bootstrap resamples of the tracks for the 95 %% intervals "
                             "(default 1000)")
    return parser
