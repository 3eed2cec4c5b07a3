"""Streamed training: a source decoded as training reads it, shuffled, shared between
processes without overlap, resumed in place, and levelled exactly as the cache levels it.

Each mechanism is checked against what a wrong version would do: unshuffled rows come genre
by genre and in the same order every epoch; unsharded processes see the same clips; a resume
that restarts the stream repeats the clips of the first batches.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import datasets
import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file
from torch.utils.data import DataLoader

from waveform_mir.config import DataConfig, load_recipe
from waveform_mir.data import StreamingCropDataset, TrainStream, prepare_dataset
from waveform_mir.data.labels import tag_feature
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.data.stream import stream_collate
from waveform_mir.data.synthetic import render_clip, write_synthetic_folder
from waveform_mir.train import train
from waveform_mir.training.checkpoints import list_checkpoints

REPO = Path(__file__).resolve().parents[1]
RATE = 8000
GENRES = ["metal", "classical", "house", "ambient"]
TINY = [
    "data.sample_rate=8000", "data.crop_seconds=1.0", "train.batch_size=8",
    "train.eval_every=1000", "train.checkpoint_every=1000", "train.log_with=[]",
    "train.progress=false", "train.warmup_steps=2", "train.calibrate=false",
    "model.backbone={name: short_chunk_cnn, width: 4}", "model.frontend={name: mel, n_mels: 32}",
]


def folder_recipe(root: Path, tmp: Path, *overrides: str):
    """The quickstart recipe on the folder ``root``, streamed, shrunk to seconds."""
    return load_recipe(REPO / "recipes" / "quickstart.yaml", [
        *TINY, "data.source=folder", f"data.options={{root: {root}, streaming: true}}",
        f"data.cache_dir={tmp / 'cache'}", f"train.output_dir={tmp / 'run'}", *overrides])


@pytest.fixture(scope="module")
def genre_folder(tmp_path_factory) -> Path:
    """WAVs of four synthetic genres, listed genre by genre: 12 train, 2 validation and
    2 test tracks each."""
    root = tmp_path_factory.mktemp("genres")
    write_synthetic_folder(root, num_per_class={"train": 12, "validation": 2, "test": 2},
                           seconds=3.0, sample_rate=RATE, genres=GENRES)
    return root


def id_stream(tracks: int = 48) -> TrainStream:
    """Rows ``t00..`` listed label by label (4 labels); a row renders to a constant whose
    value is its number, so a crop says which track it came from."""
    features = datasets.Features({"track_id": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=list("abcd"))})
    rows = datasets.Dataset.from_dict(
        {"track_id": [f"t{i:02d}" for i in range(tracks)],
         "label": [4 * i // tracks for i in range(tracks)]}, features=features)
    return TrainStream(rows, _render_number, RATE)


def _render_number(row: dict, sample_rate: int) -> np.ndarray:
    return np.full(sample_rate // 10, int(row["track_id"][1:]) / 1000, np.float32)


def take(dataset: StreamingCropDataset, batches: int, workers: int, batch_size: int = 4
         ) -> list[dict]:
    """The first ``batches`` batches of a DataLoader over ``dataset``."""
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers,
                        collate_fn=stream_collate)
    iterator = iter(loader)
    return [next(iterator) for _ in range(batches)]


def test_epochs_are_shuffled_and_shared_between_processes_without_overlap():
    """Two processes × two DataLoader workers, 48 tracks: each process reads 24 a epoch."""
    stream, seen = id_stream(), {}
    for rank in (0, 1):
        crops = StreamingCropDataset(stream, 400, seed=3, rank=rank, world_size=2, readers=2)
        ids = [t for batch in take(crops, 12, workers=2) for t in batch["track_id"]]
        seen[rank] = [ids[:24], ids[24:]]  # epochs 0 and 1 (12 rows per worker, 4 a batch)
    for epoch in (0, 1):
        first, second = seen[0][epoch], seen[1][epoch]
        assert len(set(first)) == len(set(second)) == 24, "a clip came twice in one epoch"
        assert not set(first) & set(second), "two processes saw the same clip"
        assert sorted(first + second) == [f"t{i:02d}" for i in range(48)]
    for rank in (0, 1):
        assert seen[rank][0] != seen[rank][1], "epochs came in the same order"
        labels = {int(t[1:]) * 4 // 48 for t in seen[rank][0][:8]}
        assert len(labels) >= 3, "rows came label by label, as the source lists them"


def test_resume_continues_each_workers_stream_where_it_stopped():
    """An interrupted stream resumed after 5 batches yields what the uninterrupted one did
    next, across the epoch boundary, with two workers taking turns."""
    stream = id_stream()
    straight = take(StreamingCropDataset(stream, 400, seed=1, readers=2), 14, workers=2)
    resumed = StreamingCropDataset(stream, 400, seed=1, readers=2)
    resumed.resume_at(5, batch_size=4)
    later = take(resumed, 9, workers=2)
    for expected, got in zip(straight[5:], later, strict=True):
        assert got["track_id"] == expected["track_id"]
        torch.testing.assert_close(got["waveform"], expected["waveform"], rtol=0, atol=0)


def test_a_tag_column_streams_as_multi_hot_targets():
    features = datasets.Features({"track_id": datasets.Value("string"),
                                  "moods": tag_feature(["calm", "dark", "happy"])})
    rows = datasets.Dataset.from_dict({"track_id": ["t00", "t01"], "moods": [[2, 0], []]},
                                      features=features)
    crops = StreamingCropDataset(TrainStream(rows, _render_number, RATE), 400,
                                 label_column="moods")
    batch = take(crops, 1, workers=0, batch_size=2)[0]
    targets = dict(zip(batch["track_id"], batch["label"].tolist(), strict=True))
    assert targets == {"t00": [1.0, 0.0, 1.0], "t01": [0.0, 0.0, 0.0]}


def level_folder(root: Path) -> Path:
    """Six 2 s clips stored 0 to 25 dB below each other, listed in a labels CSV."""
    root.mkdir(parents=True)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "label", "split", "track_id"])
        for i in range(6):
            wave = render_clip(GENRES[i % 2], seed=i, seconds=2.0, sample_rate=RATE)
            sf.write(root / f"c{i}.wav", wave * 10 ** (-5 * i / 20), RATE)
            writer.writerow([f"c{i}.wav", GENRES[i % 2], "train" if i < 4 else "test", f"c{i}"])
    return root


def test_streamed_tracks_are_levelled_and_stored_exactly_as_cached(tmp_path):
    root = level_folder(tmp_path / "audio")
    config = DataConfig(source="folder", options={"root": str(root)}, sample_rate=RATE,
                        cache_dir=str(tmp_path / "cache"))
    cached = prepare_dataset(config, progress=False).dataset["train"]
    config.options["streaming"] = True
    streamed = prepare_dataset(config, progress=False)
    assert len(streamed.dataset["train"]) == 0 and len(streamed.dataset["test"]) == 2
    assert streamed.stream is not None and len(streamed.stream.rows) == 4
    column = WaveformColumn(cached)
    whole_track = int(column.lengths[0])  # a crop as long as the track is the whole track
    crops = StreamingCropDataset(streamed.stream, whole_track)
    items = {item["track_id"]: item["waveform"].numpy() for item in itertools.islice(crops, 4)}
    for row, track in enumerate(cached["track_id"]):
        np.testing.assert_array_equal(items[track], column[row])  # same gain, same rounding
    levels = [10 * np.log10(np.mean(wave ** 2)) for wave in items.values()]
    assert max(levels) - min(levels) < 3  # stored 15 dB apart, levelled alike


@pytest.mark.slow
def test_a_streamed_folder_trains_and_learns(tmp_path, genre_folder):
    recipe = folder_recipe(genre_folder, tmp_path, "train.max_steps=100", "train.num_workers=2",
                           "model.backbone={name: short_chunk_cnn, width: 16}", "train.lr=3e-3",
                           "train.batch_size=16")
    result = train(recipe)
    scores = result.test_scores
    assert scores["num_examples"] == 8  # test tracks scored from the cache, track by track
    assert scores["accuracy"] >= 0.75, scores  # chance is 0.25


@pytest.mark.slow
def test_a_resumed_streamed_run_matches_an_uninterrupted_one(tmp_path, genre_folder):
    common = ["train.max_steps=8", "train.checkpoint_every=3", "train.keep_checkpoints=5",
              "train.num_workers=2", "train.grad_accumulation=2"]
    straight = train(folder_recipe(genre_folder, tmp_path / "a", *common))
    crashed = tmp_path / "b"
    train(folder_recipe(genre_folder, crashed, *common))
    for checkpoint in list_checkpoints(crashed / "run")[1:]:  # died during step 4
        shutil.rmtree(checkpoint)
    resumed = train(folder_recipe(genre_folder, crashed, *common), resume="latest")
    assert resumed.steps == straight.steps == 8
    final_a = load_file(list_checkpoints(straight.output_dir)[-1] / "model.safetensors")
    final_b = load_file(list_checkpoints(resumed.output_dir)[-1] / "model.safetensors")
    for key in final_a:
        torch.testing.assert_close(final_a[key], final_b[key], rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_two_processes_see_disjoint_clips(tmp_path, genre_folder):
    """A real ``accelerate launch`` of two CPU processes; each records the track ids of its
    micro-batches: 24 of the 48 training tracks per epoch, none shared, all covered."""
    out = tmp_path / "seen"
    out.mkdir()
    recipe = folder_recipe(genre_folder, tmp_path, "train.max_steps=6")
    recipe.save(tmp_path / "recipe.yaml")
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
        str(Path(__file__).with_name("streamed_run.py")), str(tmp_path / "recipe.yaml"), str(out),
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    seen = [json.loads((out / f"tracks_{rank}.json").read_text()) for rank in (0, 1)]
    assert all(len(batches) == 6 for batches in seen)  # 6 steps × 1 micro-batch of 8
    genre_of = train_genres(genre_folder)
    for epoch in (slice(0, 3), slice(3, 6)):  # 3 batches of 8 = one process's 24 tracks
        first, second = ([t for batch in batches[epoch] for t in batch] for batches in seen)
        assert len(set(first)) == len(first) == 24 == len(set(second)) == len(second)
        assert not set(first) & set(second), "both processes trained on the same clips"
        assert set(first) | set(second) == set(genre_of)
    for batches in seen:
        assert batches[:3] != batches[3:], "both epochs came in the same order"
        assert len(Counter(genre_of[t] for t in batches[0])) >= 3, "clips came genre by genre"
    metrics = json.loads((tmp_path / "run" / "metrics_test.json").read_text())
    assert metrics["num_examples"] == 8  # evaluated on the cached test tracks, each once


def train_genres(root: Path) -> dict[str, str]:
    """Track id → genre of the training tracks listed in ``root/labels.csv``."""
    with (root / "labels.csv").open(newline="") as handle:
        return {row["track_id"]: row["label"] for row in csv.DictReader(handle)
                if row["split"] == "train"}
