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
from waveform_mir.memory import retain_freed_memory

# Sub-command name → the module under waveform_mir.commands that registers it (imported only
# when the command line is parsed). A new command is one module there and one line here.
COMMANDS: dict[str, str] = {name: f"waveform_mir.commands.{name}" for name in (
    "download", "prepare", "pretrain", "train", "evaluate", "ablate", "predict", "embed",
    "baseline", "demo")}

# Commands whose module needs an optional extra; without it they explain how to install it.
EXTRAS = {"baseline": "baseline", "demo": "demo"}

USER_ERRORS: tuple[type[BaseException], ...] = (FileNotFoundError, ValueError, KeyError)


def build_parser(commands: dict[str, str] = COMMANDS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="waveform-mir",
        description="Music information retrieval from the raw waveform.")
    parser.add_argument("--version", action="version", version=f"waveform-mir {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in commands.items():
        try:
            register: Callable = importlib.import_module(module_name).register
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
    retain_freed_memory()  # before any work: steps reuse their temporaries' memory
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        print_error(error)
        return 2


if __name__ == "__main__":
    sys.exit(main())
