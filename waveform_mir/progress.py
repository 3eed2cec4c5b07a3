"""Rich progress bars that stay quiet on non-main processes and in non-interactive logs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def make_progress() -> Progress:
    """The package's one progress style: description, bar, count, elapsed, remaining."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[info]}"))


@contextmanager
def progress_bar(description: str, total: int | None, enabled: bool = True
                 ) -> Iterator[Callable[..., None]]:
    """Yield ``advance(steps=1, info="")``; a no-op when ``enabled`` is false."""
    if not enabled:
        yield lambda steps=1, info="": None
        return
    with make_progress() as progress:
        task = progress.add_task(description, total=total, info="")

        def advance(steps: int = 1, info: str = "") -> None:
            progress.update(task, advance=steps, info=info)

        yield advance
