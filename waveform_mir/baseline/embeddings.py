"""A trained model's track embeddings as the features of the baseline's classifiers.

With a few hundred labelled clips, the tagging literature rarely trains a network on the
target task alone: it describes each track by the embedding of a network trained on a
larger task and fits a shallow classifier on top (Choi et al., "Transfer learning for music
classification and regression tasks", ISMIR 2017; the linear probes of MARBLE, 2023). This
module supplies that description. Every track of every split is scored as ``waveform-mir
embed`` scores a file — levelled as the model's training tracks were, cut into its crops at
its evaluation hop, the chunk embeddings averaged — so one feature vector per track
(``SplitFeatures.features`` ``(tracks, embedding_dim)``, ``track_index`` the identity). The
classifiers, their selection on validation and the test scores are the hand-made route's.

The vectors are cached like the hand-made ones, keyed by the audio and by a digest of the
model's weights, so a retrained model at the same path is embedded afresh; like them, one
file serves every task on the same tracks (:func:`~.extract.cached_splits`).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import datasets
import numpy as np
import torch

from waveform_mir.config import DataConfig
from waveform_mir.data.cache import CACHE_FORMAT
from waveform_mir.data.labels import label_targets
from waveform_mir.data.loader import WaveformColumn
from waveform_mir.predict import Predictor
from waveform_mir.progress import progress_bar

from .extract import SplitFeatures, cached_splits

EMBEDDING_FORMAT = 1  # bump when how a track becomes one vector changes
TRACKS_PER_BATCH = 8  # tracks whose chunks share forward passes


def weights_digest(model: torch.nn.Module) -> str:
    """SHA-1 over every tensor of the state dict, in order: two models embed alike
    exactly when their digests agree."""
    digest = hashlib.sha1()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def embedding_cache_path(root: Path, config: DataConfig, predictor: Predictor) -> Path:
    """``<root>/baseline/<source>-embeddings-<hash>.npz``, the hash over the audio and the
    model (weights, crop, hop, loudness)."""
    payload = {
        "format": EMBEDDING_FORMAT, "source": config.source, "options": config.options,
        "sample_rate": config.sample_rate, "audio_cache_format": CACHE_FORMAT,
        "loudness": config.loudness, "weights": weights_digest(predictor.model),
        "chunk": predictor.chunk_samples, "hop": predictor.hop_samples,
        "model_loudness": predictor.model.loudness.to_dict(),
    }
    key = hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    return root / "baseline" / f"{config.source}-embeddings-{key[:16]}.npz"


def embed_split(split: datasets.Dataset, predictor: Predictor, description: str,
                progress: bool = True) -> SplitFeatures:
    """One embedding per row of a prepared split: ``(tracks, embedding_dim)`` float32."""
    waveforms = WaveformColumn(split)
    vectors = []
    with progress_bar(description, total=len(split), enabled=progress) as advance:
        for first in range(0, len(split), TRACKS_PER_BATCH):
            rows = range(first, min(first + TRACKS_PER_BATCH, len(split)))
            tracks = [predictor.reader.cut(waveforms[row]) for row in rows]
            for scores in predictor.score_tracks(tracks):
                vectors.append(scores.embedding.astype(np.float32))
                advance()
    dim = predictor.model.backbone.embedding_dim
    return SplitFeatures(
        features=np.stack(vectors) if vectors else np.zeros((0, dim), np.float32),
        track_index=np.arange(len(split), dtype=np.int64),
        labels=label_targets(split),
        track_ids=np.asarray(split["track_id"], dtype=str),
    )


def embedding_features(dataset: datasets.DatasetDict, config: DataConfig, model: str | Path,
                       cache_root: Path, progress: bool = True) -> dict[str, SplitFeatures]:
    """Track embeddings by ``model`` (a model or run folder, or a Hub id) of every split of a
    prepared dataset, from the cache when it is current.

    Raises:
        ValueError: the model listens at another sample rate than the data is decoded at
            (re-prepare the data at the model's rate, as ``train.init_from`` requires).
    """
    predictor = Predictor.from_pretrained(model)
    if predictor.sample_rate != config.sample_rate:
        raise ValueError(f"{model} was trained at {predictor.sample_rate} Hz and the data is "
                         f"decoded at {config.sample_rate} Hz; set data.sample_rate to "
                         f"{predictor.sample_rate}")

    def compute() -> dict[str, SplitFeatures]:
        return {name: embed_split(dataset[name], predictor, f"embeddings {name}", progress)
                for name in dataset}

    return cached_splits(embedding_cache_path(cache_root, config, predictor), dataset, compute)
