"""The ``waveform-mir`` command: one sub-command per job, each registered by its module.

User errors (a missing file, a bad recipe key, undecodable audio) end in one red line and a
non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from waveform_mir import __version__
from waveform_mir.console import print_error

# Sub-command name → (module, function that registers it on the sub-parsers). A new command
# is one line here; its arguments and behaviour live beside the code that does the work.
COMMANDS: dict[str, tuple[str, str]] = {
    "download": ("waveform_mir.data.commands", "add_download_parser"),
    "prepare": ("waveform_mir.data.commands", "add_prepare_parser"),
    "train": ("waveform_mir.cli_train", "add_train_parser"),
    "evaluate": ("waveform_mir.evaluate_checkpoint", "add_evaluate_parser"),
    "ablate": ("waveform_mir.ablate", "add_ablate_parser"),
    "predict": ("waveform_mir.inference_cli", "add_predict_parser"),
    "embed": ("waveform_mir.inference_cli", "add_embed_parser"),
    "baseline": ("waveform_mir.baseline.run", "add_baseline_parser"),
    "demo": ("waveform_mir.demo.server", "add_demo_parser"),
}

# Commands whose module needs an optional extra; without it they explain how to install it.
EXTRAS = {"baseline": "baseline", "demo": "demo"}

USER_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, ValueError, KeyError)


def build_parser(commands: dict[str, tuple[str, str]] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waveform-mir",
        description="Music information retrieval from the raw waveform.")
    parser.add_argument("--version", action="version", version=f"waveform-mir {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, function_name) in commands.items():
        try:
            register: Callable = getattr(importlib.import_module(module_name), function_name)
        except ImportError as error:
            if name not in EXTRAS:
                raise
            add_missing_extra_parser(subparsers, name, EXTRAS[name], error)
            continue
        register(subparsers)
    return parser


def add_missing_extra_parser(subparsers, name: str, extra: str, error: ImportError) -> None:
    """A placeholder command that says which extra to install instead of failing the CLI."""
    message = (f"'waveform-mir {name}' needs the '{extra}' extra ({error.name} is missing): "
               f"pip install 'waveform-mir[{extra}]'")
    parser = subparsers.add_parser(name, help=f"(needs waveform-mir[{extra}])", add_help=False)
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    parser.set_defaults(func=lambda args: _refuse(message))


def _refuse(message: str) -> int:
    print_error(message)
    return 2


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        print_error(error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
