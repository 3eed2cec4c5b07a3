"""One place that prints a user error: red label, message escaped so that text such as
``waveform-mir[demo]`` is not taken for rich markup, on stderr."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape


def print_error(message: object, label: str = "error") -> None:
    """One unwrapped line per error, so logs can be grepped by file name."""
    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"[red]{label}:[/red] {escape(str(message))}")
