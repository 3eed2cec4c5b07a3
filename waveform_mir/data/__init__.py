"""Data layer: decode audio, build datasets from a source, cache them, serve crops and chunks.

``prepare_dataset(config)`` turns a :class:`~waveform_mir.config.DataConfig` into decoded,
cached splits; ``RandomCropDataset`` / ``ChunkDataset`` serve them to training and
evaluation, and ``StreamingCropDataset`` decodes a streamed training split as it is read.
Sources (``synthetic``, ``synthetic_tags``, ``folder``, ``fma``, ``hub``; ``audio_files`` for
unlabelled audio) register themselves in :mod:`.registry` when their modules are imported
below. ``select_task`` picks the label column a run learns (single-label classes or
multi-label tags, :mod:`.tasks`).
"""

from . import (  # noqa: F401 - registers the builders
    fma,
    folder,
    hub,
    synthetic,
    synthetic_tags,
    unlabelled,
)
from .audio import AudioDecodeError, decode_audio
from .folds import FoldLeakError, FoldSpec, with_fold
from .loader import (
    ChunkDataset,
    RandomCropDataset,
    class_balanced_sampler,
    collate,
)
from .prepare import PreparedData, prepare_dataset
from .registry import DataSourceError, available_sources, register_builder
from .stream import StreamingCropDataset, TrainStream
from .tasks import LabelTask, resolve_task, select_task

__all__ = [
    "AudioDecodeError",
    "ChunkDataset",
    "DataSourceError",
    "FoldLeakError",
    "FoldSpec",
    "LabelTask",
    "PreparedData",
    "RandomCropDataset",
    "StreamingCropDataset",
    "TrainStream",
    "available_sources",
    "class_balanced_sampler",
    "collate",
    "decode_audio",
    "prepare_dataset",
    "register_builder",
    "resolve_task",
    "select_task",
    "with_fold",
]
