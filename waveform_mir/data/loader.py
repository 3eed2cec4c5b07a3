"""Torch datasets over the decoded cache: random crops, evaluation chunks, balanced sampling.

Serving must not decode: the cache stores every waveform as 16-bit PCM in a memory-mapped
Arrow column, and :class:`WaveformColumn` turns row ``i`` into a zero-copy numpy view of that
column, so a training crop costs one slice and one pass that scales ``crop_samples`` int16
samples to float32 in [-1, 1] (no per-row Python conversion by ``datasets``' formatter, which
is ~100× slower, and never a whole track converted for one crop).

Short clips are zero-padded, not tiled: tiling invents a rhythm (a loop seam every clip
length) that a genre model could latch onto, whereas silence is neutral. A training crop of a
short clip places it at a random offset so the padding is not always at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import datasets
import numpy as np
import pyarrow as pa
import torch
from torch.utils.data import Dataset, Sampler

from .labels import label_targets
from .pcm import from_pcm16


class WaveformColumn:
    """The cache's ``waveform`` column (int16 PCM, see :mod:`.pcm`), read as float32.

    :meth:`pcm` is row ``i`` as a read-only int16 view (no copy); indexing returns the row
    as float32 in [-1, 1]. Honours an indices mapping (after ``select``/``shuffle``) so row
    ``i`` is the dataset's row ``i``. Arrays are built lazily and not pickled, so DataLoader
    workers started with ``spawn`` rebuild them from the (memory-mapped) dataset instead of
    copying audio.
    """

    def __init__(self, split: datasets.Dataset, column: str = "waveform") -> None:
        value_type = split.data.column(column).type.value_type
        if value_type != pa.int16():
            raise TypeError(f"column {column!r} holds {value_type}, not the cache's int16 PCM; "
                            "load the split with prepare_dataset")
        self.split = split
        self.column = column
        self._arrays: tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray] | None = None

    def __getstate__(self) -> dict:
        return {"split": self.split, "column": self.column, "_arrays": None}

    def _build(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        chunked = self.split.data.column(self.column)
        values, chunk_of, starts, stops = [], [], [], []
        for number, chunk in enumerate(chunked.chunks):
            offsets = chunk.offsets.to_numpy()
            values.append(chunk.values.to_numpy(zero_copy_only=False))
            chunk_of.append(np.full(len(chunk), number))
            starts.append(offsets[:-1])
            stops.append(offsets[1:])
        chunk_of_rows = np.concatenate(chunk_of) if chunk_of else np.zeros(0, int)
        start, stop = (np.concatenate(a) if a else np.zeros(0, int) for a in (starts, stops))
        mapping = self.split._indices  # datasets' private indices mapping; no public accessor
        if mapping is not None:
            rows = mapping.column(0).to_numpy()
            chunk_of_rows, start, stop = chunk_of_rows[rows], start[rows], stop[rows]
        return values, chunk_of_rows, start, stop

    @property
    def arrays(self) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
        if self._arrays is None:
            self._arrays = self._build()
        return self._arrays

    @property
    def lengths(self) -> np.ndarray:
        """Samples per row, shape ``(rows,)``."""
        _, _, start, stop = self.arrays
        return stop - start

    def __len__(self) -> int:
        return len(self.split)

    def pcm(self, row: int) -> np.ndarray:
        """Row ``row``'s samples ``(samples,)`` as stored: an int16 view into the cache."""
        values, chunk_of, start, stop = self.arrays
        return values[chunk_of[row]][start[row] : stop[row]]

    def __getitem__(self, row: int) -> np.ndarray:
        """The whole of row ``row`` as float32 ``(samples,)`` in [-1, 1] (a converted copy;
        crops convert just their slice of :meth:`pcm`)."""
        return from_pcm16(self.pcm(row))


def _labels(split: datasets.Dataset) -> np.ndarray:
    """Targets of the ``label`` column: (rows,) int64 class ids, or (rows, num_tags) float32
    multi-hot when ``label`` is a tag column (see :func:`~.tasks.select_task`)."""
    return label_targets(split, "label")


def _target(labels: np.ndarray, row: int) -> int | torch.Tensor:
    """One row's target: a class id, or a FloatTensor (num_tags,) for multi-label data (a
    copy: a view would carry every row's targets through a DataLoader worker's queue)."""
    return int(labels[row]) if labels.ndim == 1 else torch.from_numpy(labels[row].copy())


def zero_pad(wave: np.ndarray, size: int, offset: int = 0) -> np.ndarray:
    """Copy ``wave`` into zeros of length ``size`` at ``offset`` (wave no longer than size);
    int16 PCM is scaled to float32 on the way, so a cached clip is converted only once."""
    out = np.zeros(size, dtype=np.float32)
    part = out[offset : offset + wave.shape[0]]
    if wave.dtype == np.int16:
        from_pcm16(wave, out=part)
    else:
        part[:] = wave
    return out


def random_crop(pcm: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """A float32 crop ``(size,)`` of int16 ``pcm`` at a random offset; a shorter clip is
    zero-padded at a random offset (training crops of cached and streamed clips alike)."""
    if pcm.shape[0] >= size:
        start = int(rng.integers(0, pcm.shape[0] - size + 1))
        return from_pcm16(pcm[start : start + size])
    return zero_pad(pcm, size, int(rng.integers(0, size - pcm.shape[0] + 1)))


class RandomCropDataset(Dataset):
    """Training view: each access returns a random crop of one track.

    Item: ``{"waveform": FloatTensor (crop_samples,), "label": int}``, or ``"label"`` a
    FloatTensor (num_tags,) of 0/1 when the split's ``label`` is a tag column. A crop's offset is
    drawn from a generator seeded with ``(seed, epoch, index)``: crops change every epoch
    (call :meth:`set_epoch`), yet do not depend on the order or the process in which items are
    fetched, so a run resumed mid-epoch, with batches skipped, sees the very crops an
    uninterrupted run sees.
    """

    def __init__(self, split: datasets.Dataset, crop_samples: int, seed: int = 0) -> None:
        self.waveforms = WaveformColumn(split)
        self.labels = _labels(split)
        self.crop_samples = int(crop_samples)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> dict:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        crop = random_crop(self.waveforms.pcm(index), self.crop_samples, rng)
        return {"waveform": torch.from_numpy(crop), "label": _target(self.labels, index)}


def chunk_starts(length: int, chunk: int, hop: int) -> np.ndarray:
    """Start samples of chunks covering ``[0, length)``: every ``hop``, plus one flush with
    the end when the hops miss it, so no chunk but a too-short track's only one is padded."""
    if length <= chunk:
        return np.zeros(1, dtype=np.int64)
    starts = np.arange(0, length - chunk + 1, hop, dtype=np.int64)
    if starts[-1] + chunk < length:
        starts = np.append(starts, length - chunk)
    return starts


class ChunkDataset(Dataset):
    """Evaluation view: all fixed chunks of every track, for track-level score averaging.

    Item: ``{"waveform": FloatTensor (chunk_samples,), "label": int, "track_index": int}``
    (``"label"`` a FloatTensor (num_tags,) for a tag column). ``num_tracks`` and
    ``track_labels`` (``(num_tracks,)`` ids or ``(num_tracks, num_tags)`` multi-hot) describe
    the tracks.
    """

    def __init__(self, split: datasets.Dataset, chunk_samples: int, hop_samples: int) -> None:
        if hop_samples <= 0:
            raise ValueError(f"hop_samples must be positive, got {hop_samples}")
        self.waveforms = WaveformColumn(split)
        self.track_labels = _labels(split)
        self.num_tracks = len(self.track_labels)
        self.chunk_samples = int(chunk_samples)
        lengths = self.waveforms.lengths
        per_track = [chunk_starts(int(n), self.chunk_samples, hop_samples) for n in lengths]
        self.track_of_chunk = np.repeat(np.arange(self.num_tracks), [len(s) for s in per_track])
        self.start_of_chunk = np.concatenate(per_track) if per_track else np.zeros(0, np.int64)

    def __len__(self) -> int:
        return len(self.track_of_chunk)

    def __getitem__(self, index: int) -> dict:
        track = int(self.track_of_chunk[index])
        start = int(self.start_of_chunk[index])
        piece = self.waveforms.pcm(track)[start : start + self.chunk_samples]
        return {
            "waveform": torch.from_numpy(zero_pad(piece, self.chunk_samples)),
            "label": _target(self.track_labels, track),
            "track_index": track,
        }


class ClassBalancedSampler(Sampler[int]):
    """Draws a class uniformly, then a track of that class uniformly, ``num_samples`` times.

    Imbalanced sets (FMA medium spans 21 to 7,103 tracks per genre) otherwise teach the
    majority class. Each epoch (each ``iter``) draws anew from ``(seed, epoch)``.
    """

    def __init__(self, labels: Sequence[int], num_samples: int, seed: int = 0) -> None:
        labels = np.asarray(labels)
        if labels.ndim != 1:
            raise ValueError("class_balanced_sampler needs one class id per track; multi-label "
                             "data have no tag-aware sampler")
        self.groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        if not self.groups:
            raise ValueError("class_balanced_sampler needs at least one label")
        self.num_samples = int(num_samples)
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch``'s sequence next; a resumed run calls it to continue exactly."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch])
        self.epoch += 1
        classes = rng.integers(0, len(self.groups), self.num_samples)
        for c in classes:
            group = self.groups[c]
            yield int(group[rng.integers(0, group.shape[0])])


def class_balanced_sampler(labels: Sequence[int], num_samples: int, seed: int = 0) -> Sampler:
    return ClassBalancedSampler(labels, num_samples, seed)


def collate(items: list[dict]) -> dict[str, torch.Tensor]:
    """Stack items: ``waveform`` (B, T), ``label`` (B,) long class ids or (B, num_tags) float
    multi-hot, ``track_index`` (B,) when present."""
    labels = [item["label"] for item in items]
    batch = {
        "waveform": torch.stack([item["waveform"] for item in items]),
        "label": (torch.stack(labels) if isinstance(labels[0], torch.Tensor)
                  else torch.tensor(labels, dtype=torch.long)),
    }
    if "track_index" in items[0]:
        batch["track_index"] = torch.tensor([i["track_index"] for i in items], dtype=torch.long)
    return batch

