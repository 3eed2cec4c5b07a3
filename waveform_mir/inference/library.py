"""Scoring a whole music library: files decoded in worker processes, the model batched
across files.

One file at a time, decoding (MP3, resampling, loudness) and the model take turns, and a
30 s track gives the model a batch of ten chunks. Here a DataLoader over the file paths reads
files (:class:`~.reader.TrackReader`: decode, level, cut) in ``workers`` processes while the
main process runs the model on the chunks of consecutive files together, ``batch_size`` chunks
a forward pass. Results come out in the order of the input, each as soon as its batch is
done; a file that cannot be read becomes an :class:`Unreadable`, never an exception, so one
bad file does not end a run over ten thousand.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from torch.utils.data import DataLoader, Dataset

from waveform_mir.data import AudioDecodeError
from waveform_mir.predict import Predictor, TrackScores

from .reader import CutTrack, TrackReader

PREFETCH_PER_WORKER = 4  # files each decoder keeps ready while the model works


@dataclass
class Unreadable:
    """A file that could not be scored; ``reason`` names the file and says why."""

    reason: str


def describe_failure(path: Path, error: Exception) -> str:
    """One line naming ``path`` and what went wrong with it."""
    if not isinstance(error, AudioDecodeError | OSError):
        error = f"unexpected {type(error).__name__}: {error}"
    text = str(error)
    return text if str(path) in text else f"{path}: {text}"


class ReadFiles(Dataset):
    """Item ``i``: ``(i, file i read by reader)``, a :class:`CutTrack` or an
    :class:`Unreadable`; built in DataLoader worker processes."""

    def __init__(self, files: Sequence[Path], reader: TrackReader) -> None:
        self.files = list(files)
        self.reader = reader

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> tuple[int, CutTrack | Unreadable]:
        path = self.files[index]
        try:
            return index, self.reader.read(path)
        except Exception as error:  # noqa: BLE001 - reported per file, see module docstring
            return index, Unreadable(describe_failure(path, error))


def _as_is(item: tuple[int, CutTrack | Unreadable]) -> tuple[int, CutTrack | Unreadable]:
    """The DataLoader's collate function: items pass unchanged (one file per item)."""
    return item


def default_workers(files: int) -> int:
    """Decoder processes for ``files`` files: one core is left to the model, and a single
    file is read in this process (starting a worker would cost more than it saves)."""
    return 0 if files < 2 else max(1, min(8, (os.cpu_count() or 2) - 1))


Result = tuple[Path, TrackScores | Unreadable]


def score_library(predictor: Predictor, files: Sequence[Path], workers: int
                  ) -> Iterator[Result]:
    """``(file, scores or Unreadable)`` for every file, in order; ``workers`` decoder
    processes (0: decode in this process)."""
    loader = DataLoader(ReadFiles(files, predictor.reader), batch_size=None,
                        num_workers=workers, collate_fn=_as_is,
                        prefetch_factor=PREFETCH_PER_WORKER if workers else None)
    pending: list[tuple[Path, CutTrack | Unreadable]] = []
    chunks = 0
    for index, item in loader:
        path = Path(files[index])
        if isinstance(item, Unreadable) and not pending:
            yield path, item
            continue
        pending.append((path, item))
        chunks += item.chunks.shape[0] if isinstance(item, CutTrack) else 0
        if chunks >= predictor.batch_size:
            yield from _scored(predictor, pending)
            pending, chunks = [], 0
    yield from _scored(predictor, pending)


def _scored(predictor: Predictor, pending: list[tuple[Path, CutTrack | Unreadable]]
            ) -> Iterator[Result]:
    """The pending files' results in order, their tracks scored in one call."""
    tracks = [item for _, item in pending if isinstance(item, CutTrack)]
    scores = iter(predictor.score_tracks(tracks) if tracks else [])
    for path, item in pending:
        yield path, next(scores) if isinstance(item, CutTrack) else item
