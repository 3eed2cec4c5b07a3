"""Track-level genre scores and embeddings for one audio file or waveform.

A model is trained on short crops, so a track is scored the way evaluation scores it: levelled
to the loudness the model was trained at, cut into chunks of the training crop length at the
evaluation hop (all three recorded in the checkpoint's config), every chunk scored in batches,
and the chunk probabilities averaged into the track's scores. The
per-chunk scores are kept as a timeline, which shows where a song changes character, and the
chunk embeddings are averaged into one track embedding. Decoding and cutting live in
:class:`~waveform_mir.inference.reader.TrackReader`, so that :mod:`waveform_mir.inference.library`
can run them in decoder processes for many files and still score each track as this module does.

Python API::

    from waveform_mir.predict import Predictor, predict_file, embed_file

    predict_file("runs/quickstart", "song.mp3")      # {"rock": 0.71, "metal": 0.2, ...}
    embed_file("runs/quickstart", "song.mp3").shape  # (embedding_dim,)
    Predictor.from_pretrained("user/waveform-mir-fma").score_file("song.mp3").timeline
"""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from waveform_mir.inference.reader import MIN_SECONDS, CutTrack, TrackReader
from waveform_mir.model import WaveformClassifier
from waveform_mir.pretraining.encoder import ContrastiveEncoder, is_encoder_config

DEFAULT_CHUNK_SECONDS = 3.0  # a model that does not record its crop length: the recipes' usual


class ModelLoadError(ValueError):
    """A model folder or Hub id that does not hold a loadable waveform-mir model."""


@dataclass
class TrackScores:
    """Scores of one track.

    Attributes:
        probabilities: genre (or tag) -> mean chunk probability, highest first; sums to 1
            for a genre classifier, one independent probability per tag for a tagger.
        labels: genre of each class id, i.e. of each ``timeline`` column.
        timeline: ``(chunks, classes)`` probabilities of each chunk.
        chunk_starts_s: ``(chunks,)`` start time of each chunk in seconds.
        embedding: ``(dim,)`` mean of the chunk embeddings (pooled backbone output).
        duration_s: seconds of audio analysed.
        truncated: the file is longer than the analysis limit and only its start was scored.
        thresholds: a tagger's per-tag decision thresholds (``None`` for a classifier).
    """

    probabilities: dict[str, float]
    labels: list[str]
    timeline: np.ndarray
    chunk_starts_s: np.ndarray
    embedding: np.ndarray
    duration_s: float
    truncated: bool = False
    thresholds: dict[str, float] | None = None

    @property
    def tags(self) -> list[tuple[str, float]]:
        """A tagger's tags present in the track — probability at or above the tag's
        threshold — as ``(tag, probability)``, highest first; ``[]`` for a classifier."""
        if self.thresholds is None:
            return []
        return [(tag, p) for tag, p in self.probabilities.items() if p >= self.thresholds[tag]]

    @property
    def top_genre(self) -> str:
        return next(iter(self.probabilities))

    def top_k(self, k: int) -> list[tuple[str, float]]:
        """The ``k`` most probable genres as ``(genre, probability)``, highest first."""
        return list(self.probabilities.items())[:k]

    def chunk_top_k(self, k: int) -> list[list[tuple[str, float]]]:
        """Per chunk, its ``k`` most probable genres as ``(genre, probability)``."""
        ranked = np.argsort(-self.timeline, axis=1, kind="stable")[:, :k]
        return [[(self.labels[c], float(row[c])) for c in columns]
                for row, columns in zip(self.timeline, ranked, strict=True)]


def resolve_model_source(source: str | Path) -> Path:
    """A local model folder for ``source``: a model folder, a training run folder (whose
    ``best/`` holds the model) or a Hugging Face Hub id, downloaded once into the Hub cache."""
    path = Path(source)
    if path.exists():
        for candidate in (path, path / "best"):
            if (candidate / "config.json").is_file():
                return candidate
        raise ModelLoadError(f"no saved model (config.json) in {path} or {path / 'best'}")
    return _download_from_hub(str(source))


def _download_from_hub(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError

    try:
        folder = snapshot_download(
            repo_id, allow_patterns=["config.json", "*.safetensors", "recipe.yaml"])
    except HFValidationError:
        raise ModelLoadError(f"{repo_id}: no such model folder, nor a valid Hub model id"
                             ) from None
    except Exception as error:  # network, authentication and missing-repo errors alike
        raise ModelLoadError(f"could not download model {repo_id!r} from the Hub: {error}"
                             ) from None
    return Path(folder)


def load_model(source: str | Path) -> WaveformClassifier | ContrastiveEncoder:
    """The saved model ``source`` names (see :func:`resolve_model_source`): a classifier, or
    a pretrained encoder (``waveform-mir pretrain``), told apart by their ``config.json``."""
    model_dir = resolve_model_source(source)
    try:
        config = json.loads((model_dir / "config.json").read_text())
        kind = ContrastiveEncoder if is_encoder_config(config) else WaveformClassifier
        # huggingface_hub prints a note to stdout, where results (JSON lines) go; drop it.
        with contextlib.redirect_stdout(io.StringIO()):
            return kind.from_pretrained(model_dir)
    except (OSError, KeyError, TypeError, RuntimeError, json.JSONDecodeError) as error:
        raise ModelLoadError(f"could not load a model from {model_dir}: {error}") from None


class Predictor:
    """A loaded model plus how to cut tracks for it; reuse one for many files.

    Args:
        model: the classifier; switched to eval mode. Its ``loudness`` levels every track.
        chunk_seconds: chunk length, normally the training crop length.
        hop_seconds: distance between chunk starts (default: ``chunk_seconds``, no overlap;
            :func:`predict_file` and :meth:`from_pretrained` default to the model's own).
        batch_size: chunks scored per forward pass; bounds memory on long tracks.
        max_seconds: analyse only the start of longer files (``None``: whole file).
    """

    def __init__(
        self,
        model: WaveformClassifier | ContrastiveEncoder,
        chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
        hop_seconds: float | None = None,
        batch_size: int = 16,
        max_seconds: float | None = None,
    ) -> None:
        hop = chunk_seconds if hop_seconds is None else hop_seconds
        if chunk_seconds <= 0 or hop <= 0:
            raise ValueError(f"chunk and hop must be positive, got {chunk_seconds} and {hop}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        if max_seconds is not None and max_seconds < MIN_SECONDS:
            raise ValueError(f"max_seconds must be at least {MIN_SECONDS} s, got {max_seconds}")
        self.model = model.eval()
        self.sample_rate = int(model.sample_rate)
        self.chunk_samples = int(round(chunk_seconds * self.sample_rate))
        self.hop_samples = max(1, int(round(hop * self.sample_rate)))
        self.batch_size = batch_size
        self.max_seconds = max_seconds
        self.labels = [model.id2label[i] for i in range(len(model.id2label))]
        self.thresholds = None if model.task != "multi_label" else dict(
            zip(self.labels, model.thresholds.tolist(), strict=True))

    def require_labels(self) -> None:
        """Refuse to predict with a model that has no labels (a pretrained encoder): it can
        embed tracks, and scores nothing until it is fine-tuned."""
        if not self.labels:
            raise ModelLoadError("this model is a pretrained encoder without labels: embed "
                                 "tracks with `waveform-mir embed`, or fine-tune it on a "
                                 "labelled task with train.init_from")

    @property
    def reader(self) -> TrackReader:
        """How files are decoded and cut for this model, levelled by its present ``loudness``
        (picklable: decoder processes each get a copy)."""
        return TrackReader(self.sample_rate, self.chunk_samples, self.hop_samples,
                           self.model.loudness, self.max_seconds)

    @classmethod
    def from_pretrained(cls, source: str | Path, **options) -> Predictor:
        """Load a model folder, run folder or Hub id; chunks are as long as the crops it was
        trained on and as far apart as its evaluation's (both recorded in its config) unless
        ``chunk_seconds`` / ``hop_seconds`` are given."""
        return _predictor(load_model(source), **options)

    def decode(self, source: str | Path | bytes, name: str | None = None,
               max_seconds: float | None = None) -> tuple[np.ndarray, bool]:
        """Decode to the model's rate: ``(samples,)`` float32 and whether it was cut short
        (see :meth:`TrackReader.decode <waveform_mir.inference.reader.TrackReader.decode>`)."""
        return self.reader.decode(source, name, max_seconds)

    def score_file(self, source: str | Path | bytes, name: str | None = None) -> TrackScores:
        """Decode ``source`` (path or file bytes) and score it; see :meth:`decode` for errors."""
        return self.score_tracks([self.reader.read(source, name)])[0]

    def score_waveform(self, waveform: np.ndarray) -> TrackScores:
        """Score a float32 mono waveform ``(samples,)`` at the model's sample rate, at any
        level: it is levelled as the model's training tracks were before it is cut."""
        return self.score_tracks([self.reader.cut(waveform)])[0]

    def chunks(self, waveform: np.ndarray) -> tuple[Tensor, np.ndarray]:
        """Chunks ``(chunks, chunk_samples)`` covering the waveform and their start samples
        ``(chunks,)``; a waveform shorter than one chunk is zero-padded at the end."""
        return self.reader.chunks(waveform)

    def score_tracks(self, tracks: list[CutTrack]) -> list[TrackScores]:
        """Scores of cut tracks, their chunks scored together ``batch_size`` at a time (a
        batch may span tracks; in eval mode a chunk's scores do not depend on its batch)."""
        probabilities, embeddings = self._score_chunks(torch.cat([t.chunks for t in tracks]))
        bounds = np.cumsum([0] + [t.chunks.shape[0] for t in tracks])
        return [self._track_scores(track, probabilities[start:stop], embeddings[start:stop])
                for track, start, stop in zip(tracks, bounds[:-1], bounds[1:], strict=True)]

    def _track_scores(self, track: CutTrack, probabilities: np.ndarray,
                      embeddings: np.ndarray) -> TrackScores:
        """One track's scores from its chunks' probabilities ``(chunks, classes)`` and
        embeddings ``(chunks, dim)``."""
        mean = probabilities.mean(axis=0)
        order = np.argsort(-mean, kind="stable")
        return TrackScores(
            probabilities={self.labels[i]: float(mean[i]) for i in order},
            labels=self.labels,
            timeline=probabilities,
            chunk_starts_s=track.starts / self.sample_rate,
            embedding=embeddings.mean(axis=0),
            duration_s=track.duration_s,
            truncated=track.truncated,
            thresholds=self.thresholds,
        )

    @torch.inference_mode()
    def _score_chunks(self, chunks: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """``(chunks, samples)`` -> probabilities ``(chunks, classes)`` and embeddings
        ``(chunks, dim)``; the head classifies the embedding, so one forward pass gives both."""
        device = next(self.model.parameters()).device
        probabilities, embeddings = [], []
        for batch in chunks.split(self.batch_size):
            embedding = self.model.embed(batch.to(device))
            logits = self.model.classify(embedding)
            probabilities.append(self.model.probabilities(logits.float()).cpu())
            embeddings.append(embedding.float().cpu())
        return torch.cat(probabilities).numpy(), torch.cat(embeddings).numpy()


def _predictor(model_or_path: Predictor | WaveformClassifier | str | Path, **options
               ) -> Predictor:
    if isinstance(model_or_path, Predictor):
        return model_or_path
    if isinstance(model_or_path, WaveformClassifier | ContrastiveEncoder):
        options.setdefault("chunk_seconds", model_or_path.chunk_seconds or DEFAULT_CHUNK_SECONDS)
        if options.get("hop_seconds") is None:
            options["hop_seconds"] = model_or_path.hop_seconds
        return Predictor(model_or_path, **options)
    return Predictor.from_pretrained(model_or_path, **options)


def predict_file(
    model_or_path: Predictor | WaveformClassifier | str | Path,
    path: str | Path,
    top_k: int | None = None,
    **options,
) -> dict[str, float]:
    """Genre -> probability for one audio file, highest first (only ``top_k`` if given).

    ``model_or_path`` is a loaded model, a :class:`Predictor`, a model/run folder or a Hub id;
    ``options`` go to :class:`Predictor` (``chunk_seconds``, ``hop_seconds``, ...).
    """
    scores = _predictor(model_or_path, **options).score_file(path)
    return dict(scores.top_k(top_k) if top_k else scores.probabilities)


def embed_file(
    model_or_path: Predictor | WaveformClassifier | str | Path, path: str | Path, **options
) -> np.ndarray:
    """The track embedding ``(dim,)`` of one audio file: chunk embeddings averaged."""
    return _predictor(model_or_path, **options).score_file(path).embedding
