"""Chunk features of every track of every split: extracted in parallel once, then cached.

Extraction runs one joblib task per track (librosa releases little of the GIL, so workers are
processes) and shows a rich bar per split. The result is stored as one ``.npz`` per
(data source, options, sample rate, chunk length, feature layout), whatever the task, so a
second run, the ablation harness asking for the same baseline, or another task on the same
tracks loads it in well under a second. A stored
file whose track ids no longer match the prepared data (the audio was re-decoded from
changed files) is ignored and rebuilt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import datasets
import numpy as np
from joblib import Parallel, delayed

from waveform_mir.config import DataConfig
from waveform_mir.data.cache import CACHE_FORMAT
from waveform_mir.data.labels import label_targets
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.progress import progress_bar

from .features import BLOCKS, HOP, N_FFT, STATISTICS, clip_features, feature_dim

FEATURE_FORMAT = 1  # bump when a descriptor's computation changes without renaming it


@dataclass
class SplitFeatures:
    """One split as the classifiers see it.

    ``features`` (chunks, feature_dim) float32; ``track_index`` (chunks,) row of each chunk's
    track in ``labels`` / ``track_ids``, which are (tracks,) in the dataset's order.
    """

    features: np.ndarray
    track_index: np.ndarray
    labels: np.ndarray
    track_ids: np.ndarray

    @property
    def chunk_labels(self) -> np.ndarray:
        """(chunks,) class id, or (chunks, tags) multi-hot, of each chunk: its track's."""
        return self.labels[self.track_index]

    @property
    def num_tracks(self) -> int:
        return int(self.labels.shape[0])


def compile_feature_code(sample_rate: int, chunk_seconds: float) -> None:
    """Run the feature code once in this process before any worker starts.

    librosa's numba kernels are compiled on first use and cached on disk (``cache=True``).
    Workers that compile the same kernel at once write its cache files in a race that can
    leave a mismatched pair behind, and whichever process loads that pair next crashes with a
    segfault (numba/numba#10128, librosa/librosa#1998). Compiling here first means workers
    only ever read a complete cache.
    """
    noise = np.random.default_rng(0).standard_normal(int(chunk_seconds * sample_rate))
    clip_features(noise.astype(np.float32), sample_rate, chunk_seconds)


def extract_split(split: datasets.Dataset, sample_rate: int, chunk_seconds: float,
                  n_jobs: int = -1, description: str = "features", progress: bool = True
                  ) -> SplitFeatures:
    """Chunk features of every row of a prepared split (columns ``waveform``, ``label``);
    each track is read from the cache's int16 PCM as float32 in [-1, 1]."""
    waveforms = WaveformColumn(split)
    tasks = (delayed(clip_features)(waveforms[i], sample_rate, chunk_seconds)
             for i in range(len(split)))
    per_track = []
    with progress_bar(description, total=len(split), enabled=progress) as advance:
        for features in Parallel(n_jobs=n_jobs, return_as="generator")(tasks):
            per_track.append(features)
            advance()
    counts = [f.shape[0] for f in per_track]
    return SplitFeatures(
        features=(np.concatenate(per_track) if per_track
                  else np.zeros((0, feature_dim()), np.float32)),
        track_index=np.repeat(np.arange(len(counts)), counts).astype(np.int64),
        labels=label_targets(split),
        track_ids=np.asarray(split["track_id"], dtype=str),
    )


def cache_path(root: Path, config: DataConfig, chunk_seconds: float) -> Path:
    """``<root>/baseline/<source>-<hash>.npz``, the hash over all that shapes the features."""
    payload = {
        "format": FEATURE_FORMAT, "source": config.source, "options": config.options,
        "sample_rate": config.sample_rate, "chunk_seconds": chunk_seconds,
        "audio_cache_format": CACHE_FORMAT, "loudness": config.loudness,
        "blocks": list(BLOCKS), "statistics": list(STATISTICS), "n_fft": N_FFT, "hop": HOP,
    }
    key = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return root / "baseline" / f"{config.source}-{key[:16]}.npz"


def save_features(path: Path, splits: dict[str, SplitFeatures]) -> None:
    """Write all splits to one ``.npz`` atomically (a killed run leaves no half file)."""
    arrays = {f"{name}__{field}": getattr(split, field)
              for name, split in splits.items()
              for field in ("features", "track_index", "labels", "track_ids")}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    with partial.open("wb") as handle:
        np.savez(handle, **arrays)
    os.replace(partial, path)


def load_features(path: Path) -> dict[str, SplitFeatures]:
    with np.load(path, allow_pickle=False) as stored:
        names = sorted({key.split("__")[0] for key in stored.files})
        return {name: SplitFeatures(**{field: stored[f"{name}__{field}"] for field in (
            "features", "track_index", "labels", "track_ids")}) for name in names}


def _matches(cached: dict[str, SplitFeatures], dataset: datasets.DatasetDict) -> bool:
    return set(cached) == set(dataset) and all(
        cached[name].track_ids.tolist() == list(dataset[name]["track_id"]) for name in dataset)


def regrouped(splits: dict[str, SplitFeatures], dataset: datasets.DatasetDict
              ) -> dict[str, SplitFeatures]:
    """The features of ``splits`` rearranged into ``dataset``'s splits by track id (the
    splits of one fold of the same tracks, :mod:`waveform_mir.data.folds`), with
    ``dataset``'s labels: the audio is described once, whichever fold it falls in."""
    where: dict[str, tuple[SplitFeatures, int]] = {}
    for split in splits.values():
        for row, track in enumerate(split.track_ids.tolist()):
            if track in where:
                raise ValueError(f"track id {track} repeats; folds need unique track ids")
            where[track] = (split, row)
    out = {}
    for name in dataset:
        features, track_index = [], []
        ids = list(dataset[name]["track_id"])
        for new_row, track in enumerate(ids):
            split, row = where[track]
            chunks = np.flatnonzero(split.track_index == row)
            features.append(split.features[chunks])
            track_index.append(np.full(len(chunks), new_row, dtype=np.int64))
        dim = next(iter(splits.values())).features.shape[1]
        out[name] = SplitFeatures(
            features=np.concatenate(features) if features else np.zeros((0, dim), np.float32),
            track_index=np.concatenate(track_index) if track_index else np.zeros(0, np.int64),
            labels=label_targets(dataset[name]), track_ids=np.asarray(ids, dtype=str))
    return out


def cached_splits(path: Path, dataset: datasets.DatasetDict,
                  compute: Callable[[], dict[str, SplitFeatures]]) -> dict[str, SplitFeatures]:
    """The features stored at ``path`` when they describe exactly ``dataset``'s tracks,
    else ``compute()``'s, stored there for the next run.

    Features describe audio, not labels: the labels returned are always ``dataset``'s, so
    every task on the same tracks (genres, moods, a quadrant) shares one file.
    """
    splits = load_features(path) if path.is_file() else None
    if splits is None or not _matches(splits, dataset):
        splits = compute()
        save_features(path, splits)
    return {name: dataclasses.replace(split, labels=label_targets(dataset[name]))
            for name, split in splits.items()}


def split_features(dataset: datasets.DatasetDict, config: DataConfig, chunk_seconds: float,
                   cache_root: Path, n_jobs: int = -1, progress: bool = True
                   ) -> dict[str, SplitFeatures]:
    """Hand-made features of every split of a prepared dataset, from the cache when it is
    current."""
    def compute() -> dict[str, SplitFeatures]:
        compile_feature_code(config.sample_rate, chunk_seconds)
        return {name: extract_split(dataset[name], config.sample_rate, chunk_seconds, n_jobs,
                                    f"features {name}", progress) for name in dataset}

    return cached_splits(cache_path(cache_root, config, chunk_seconds), dataset, compute)
