"""Rich progress bars that stay quiet on non-main processes and in non-interactive logs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Steps per second, e.g. ``12.3 files/s`` (rich's estimate over the last 30 s)."""

    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} {self.unit}/s" if speed else f"– {self.unit}/s")


def make_progress(unit: str | None = None, console: Console | None = None,
                  disable: bool = False) -> Progress:
    """The package's one progress style: description, bar, count, elapsed, remaining, and
    the rate in ``unit`` per second when given; ``disable`` draws nothing."""
    rate = [RateColumn(unit)] if unit else []
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    *rate, TimeElapsedColumn(), TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"), console=console, disable=disable)


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True,
                 unit: str | None = None, console: Console | None = None
                 ) -> Iterator[Callable[..., None]]:
    """Yield ``advance(steps=1, info="")``; a no-op when ``enabled`` is false. ``unit``
    adds a rate column; ``console`` (default: stdout) is where the bar is drawn."""
    if not enabled:
        yield lambda steps=1, info="": None
        return
    with make_progress(unit, console) as progress:
        task = progress.add_task(description, total=total, info="")

        def advance(steps: int = 1, info: str = "") -> None:
            progress.update(task, advance=steps, info=info)

        yield advance
