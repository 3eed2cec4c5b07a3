"""Outputs of ``predict`` and ``embed`` that grow file by file and survive an interruption.

Every result is appended as one JSON line and flushed as soon as its file is scored, so a
run that is stopped (Ctrl-C, a killed job, a lost machine) keeps all it had finished, and a
re-run with the same output skips the files already in it (compared as resolved paths). A
last line cut short by a kill is dropped when the file is opened again.

* ``predict --out FILE``: the JSON lines are the output (:class:`JsonLines`).
* ``embed --out FILE.parquet``: while running, rows go to ``FILE.parquet.partial.jsonl``
  (embeddings as JSON numbers, which give float32 back exactly); at the end they are folded,
  after the rows the Parquet file already had, into a new Parquet file that replaces the old
  one in one rename (:class:`EmbeddingTable`). The Parquet file is therefore always whole.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from waveform_mir.predict import TrackScores


def file_key(path: str | Path) -> str:
    """What identifies a file across runs: its resolved path."""
    return str(Path(path).resolve())


def read_lines(path: Path) -> Iterator[dict]:
    """The complete JSON lines of ``path`` (none if it does not exist); a last line without
    its newline, left by a kill mid-write, is cut off the file first."""
    if not path.is_file():
        return
    with path.open("rb+") as handle:
        data = handle.read()
        end = data.rfind(b"\n") + 1
        if end < len(data):
            handle.truncate(end)
    for line in data[:end].splitlines():
        if line.strip():
            yield json.loads(line)


class JsonLines:
    """An append-only JSON-lines file; ``key`` names the field that holds each record's file.

    ``overwrite`` starts afresh instead of continuing what is there.
    """

    def __init__(self, path: Path, key: str = "file", overwrite: bool = False) -> None:
        self.path = path
        self.key = key
        if overwrite:
            path.unlink(missing_ok=True)
        self.done = {file_key(record[key]) for record in read_lines(path)}
        self._handle = None

    def write(self, record: dict) -> None:
        """Append ``record`` and flush it to the operating system at once."""
        if self._handle is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a")
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def embedding_record(path: Path, scores: TrackScores) -> dict:
    """One Parquet row of ``embed``: the file, its embedding ``(dim,)``, duration, chunks."""
    return {"path": str(path), "embedding": scores.embedding.tolist(),
            "duration_s": scores.duration_s, "num_chunks": int(scores.timeline.shape[0])}


def embedding_table(records: list[dict]) -> pa.Table:
    """Rows of :func:`embedding_record` as a table; ``embedding`` a fixed-size float32 list."""
    vectors = np.asarray([r["embedding"] for r in records], dtype=np.float32)
    return pa.table({
        "path": pa.array([r["path"] for r in records], pa.string()),
        "embedding": pa.FixedSizeListArray.from_arrays(vectors.reshape(-1), vectors.shape[1]),
        "duration_s": pa.array([r["duration_s"] for r in records], pa.float64()),
        "num_chunks": pa.array([r["num_chunks"] for r in records], pa.int64()),
    })


class EmbeddingTable:
    """``embed``'s Parquet output, grown through a JSON-lines side file (see module)."""

    def __init__(self, out: Path, overwrite: bool = False) -> None:
        self.out = out
        self.lines = JsonLines(out.with_name(out.name + ".partial.jsonl"), key="path",
                               overwrite=overwrite)
        if overwrite:
            out.unlink(missing_ok=True)
        self.previous = pq.read_table(out) if out.is_file() else None
        done = self.previous.column("path").to_pylist() if self.previous is not None else []
        self.done = self.lines.done | {file_key(p) for p in done}

    def write(self, path: Path, scores: TrackScores) -> None:
        self.lines.write(embedding_record(path, scores))

    def finish(self) -> pa.Table | None:
        """Fold the side file into the Parquet file and delete it; the whole table, or
        ``None`` when there is no row at all."""
        self.lines.close()
        records = list(read_lines(self.lines.path))
        if not records:
            self.lines.path.unlink(missing_ok=True)
            return self.previous
        table = embedding_table(records)
        if self.previous is not None:
            table = pa.concat_tables([self.previous, table.cast(self.previous.schema)])
        self.out.parent.mkdir(parents=True, exist_ok=True)
        partial = self.out.with_name(self.out.name + ".tmp")
        pq.write_table(table, partial)
        os.replace(partial, self.out)
        self.lines.path.unlink()
        return table
