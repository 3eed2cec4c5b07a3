"""``predict`` and ``embed`` over a library: decoded in worker processes, batched across
files, streamed to an output that an interrupted run continues without losing or repeating
a file, and scored exactly as one file at a time."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inference_helpers import GENRES, write_clip

from waveform_mir.cli import main
from waveform_mir.inference import outputs
from waveform_mir.inference.library import Unreadable, score_library
from waveform_mir.predict import Predictor

BAD = ("empty.mp3", "fake.wav")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Path:
    """Ten clips of 1.5 to 6 s in nested folders, and two unreadable files among them."""
    root = tmp_path_factory.mktemp("library")
    for i in range(10):
        write_clip(root / f"disc{i % 3}" / f"track{i:02d}.mp3", GENRES[i % 4], seed=500 + i,
                   seconds=1.5 + i / 2)
    (root / "disc1" / BAD[0]).write_bytes(b"")
    (root / "disc2" / BAD[1]).write_bytes(b"RIFF this is not really a wave file" * 20)
    return root


def good_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("track*.mp3"))


def test_library_scores_equal_file_by_file_scores(run_dir, library):
    predictor = Predictor.from_pretrained(run_dir, batch_size=3)  # batches span files
    files = sorted(p for p in library.rglob("*") if p.is_file())
    results = list(score_library(predictor, files, workers=2))
    assert [path for path, _ in results] == files  # input order kept
    for path, result in results:
        if path.name in BAD:
            assert isinstance(result, Unreadable) and path.name in result.reason
            continue
        alone = predictor.score_file(path)
        assert result.probabilities == pytest.approx(alone.probabilities, abs=1e-5)
        np.testing.assert_allclose(result.timeline, alone.timeline, atol=1e-5)
        np.testing.assert_allclose(result.embedding, alone.embedding, rtol=1e-4, atol=1e-5)
        np.testing.assert_array_equal(result.chunk_starts_s, alone.chunk_starts_s)
        assert result.duration_s == alone.duration_s


class Interrupted(BaseException):
    """Stands for Ctrl-C or a killed job, after a given number of files."""


def interrupt_after(monkeypatch, cls, files: int) -> None:
    """Make ``cls.write`` stop the run once ``files`` results have been written."""
    real = cls.write
    written = []

    def write(self, *args):
        if len(written) == files:
            raise Interrupted
        written.append(args)
        real(self, *args)

    monkeypatch.setattr(cls, "write", write)


def cut_last_line(path: Path) -> None:
    """Append half a line, as a kill in the middle of a write would leave it."""
    with path.open("a") as handle:
        handle.write('{"file": "half')


def test_an_interrupted_predict_run_continues_where_it_stopped(run_dir, library, tmp_path,
                                                                capsys, monkeypatch):
    out = tmp_path / "predictions.jsonl"
    command = ["predict", str(library), "--model", str(run_dir), "--out", str(out),
               "--workers", "2", "--top-k", "2"]
    with monkeypatch.context() as patch:
        interrupt_after(patch, outputs.JsonLines, 4)
        with pytest.raises(Interrupted):
            main(command)
    assert len(out.read_text().splitlines()) == 4
    cut_last_line(out)
    capsys.readouterr()

    assert main(command) == 1  # the two unreadable files
    captured = capsys.readouterr()
    assert captured.out == ""  # results went to the file
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["file"] for r in records) == [str(p) for p in good_files(library)]
    skipped = [line for line in captured.err.splitlines() if line.startswith("skipped:")]
    assert len(skipped) == 2 and all(any(b in line for line in skipped) for b in BAD)
    assert "scored 6 file(s)" in captured.err and "2 skipped" in captured.err

    predictor = Predictor.from_pretrained(run_dir)
    for record in records:
        alone = predictor.score_file(record["file"]).probabilities
        assert record["probabilities"] == pytest.approx(alone, abs=2e-6)

    assert main(command) == 1  # a third run has nothing left but the bad files
    assert len(out.read_text().splitlines()) == len(records)
    assert "scored 0 file(s)" in capsys.readouterr().err


def test_an_interrupted_embed_run_keeps_every_row_once(run_dir, library, tmp_path,
                                                        monkeypatch):
    out = tmp_path / "embeddings.parquet"
    command = ["embed", str(library), "--model", str(run_dir), "--out", str(out),
               "--workers", "2"]
    with monkeypatch.context() as patch:  # Ctrl-C: what was done is folded into the file
        interrupt_after(patch, outputs.EmbeddingTable, 3)
        with pytest.raises(Interrupted):
            main(command)
    assert len(pd.read_parquet(out)) == 3
    with monkeypatch.context() as patch:  # a kill: rows left in the side file only
        interrupt_after(patch, outputs.EmbeddingTable, 2)
        patch.setattr(outputs.EmbeddingTable, "finish", lambda self: self.lines.close())
        with pytest.raises(Interrupted):
            main(command)
    side = out.with_name(out.name + ".partial.jsonl")
    assert len(side.read_text().splitlines()) == 2
    cut_last_line(side)

    assert main(command) == 1
    assert not side.exists()
    table = pd.read_parquet(out)
    assert sorted(table["path"]) == [str(p) for p in good_files(library)]
    predictor = Predictor.from_pretrained(run_dir)
    for path, vector, chunks in zip(table["path"], table["embedding"], table["num_chunks"],
                                    strict=True):
        alone = predictor.score_file(path)
        np.testing.assert_allclose(vector, alone.embedding, rtol=1e-4, atol=1e-5)
        assert chunks == alone.timeline.shape[0]

    assert main([*command, "--overwrite", "--workers", "0"]) == 1  # afresh
    assert sorted(pd.read_parquet(out)["path"]) == sorted(table["path"])
