"""The pretrained network: front-end → backbone → pooled embedding → projection head.

Its ``frontend`` and ``backbone`` are built, named and saved exactly as a
:class:`~waveform_mir.model.WaveformClassifier`'s, so ``train.init_from`` copies them into a
classifier tensor by tensor; its ``head`` (pooling and projection) belongs to the contrastive
task and is dropped there, as SimCLR drops its projection (the embedding before the
projection transfers better, Chen et al. 2020). Like the classifier it records how its input
was cut and levelled, and what it was pretrained on (``pretraining``), in ``config.json``, so
a folder or Hub repo is all ``embed``, ``baseline --embeddings-from`` and a fine-tuning
recipe need.
"""

from __future__ import annotations

from typing import Any

from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn

from waveform_mir.augment import SpecAugment
from waveform_mir.backbones import build_backbone
from waveform_mir.config import Recipe
from waveform_mir.data.loudness import Loudness
from waveform_mir.frontends import build_frontend
from waveform_mir.heads import SEQUENCE_POOLINGS
from waveform_mir.model import check_pair

# config.json keys that mark a saved ContrastiveEncoder (a classifier has none of them)
ENCODER_MARKER = "projection_dim"


class ProjectionHead(nn.Module):
    """Pool ``(B, D, T) → (B, D)`` (the embedding), then project ``(B, D) → (B, out)`` with
    a two-layer MLP, the space the contrastive loss compares views in."""

    def __init__(self, dim: int, out: int, hidden: int | None = None, pooling: str = "mean"):
        super().__init__()
        if pooling not in SEQUENCE_POOLINGS:
            raise ValueError(
                f"unknown pooling {pooling!r}; choose from {sorted(SEQUENCE_POOLINGS)}")
        self.pool = SEQUENCE_POOLINGS[pooling](dim)
        hidden = hidden or dim
        self.projection = nn.Sequential(nn.Linear(dim, hidden), nn.ReLU(), nn.Linear(hidden, out))

    def embed(self, sequence: Tensor) -> Tensor:
        return self.pool(sequence)

    def forward(self, embedding: Tensor) -> Tensor:
        return self.projection(embedding)


class ContrastiveEncoder(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="waveform-mir",
    tags=["audio", "music", "self-supervised", "feature-extraction"],
):
    """Raw waveforms ``(batch, samples)`` → projections ``(batch, projection_dim)``.

    Args:
        frontend, backbone, augment, sample_rate, chunk_seconds, hop_seconds, loudness: as
            :class:`~waveform_mir.model.WaveformClassifier`'s.
        projection_dim, projection_hidden, pooling: the :class:`ProjectionHead`.
        pretraining: what it was pretrained on and how (source, options, tracks, objective),
            recorded for the model card and for anyone fine-tuning it.
    """

    def __init__(
        self,
        frontend: dict[str, Any],
        backbone: dict[str, Any],
        projection_dim: int = 128,
        projection_hidden: int | None = None,
        pooling: str = "mean",
        augment: dict[str, Any] | None = None,
        sample_rate: int = 16000,
        chunk_seconds: float | None = None,
        hop_seconds: float | None = None,
        loudness: dict[str, Any] | None = None,
        pretraining: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        check_pair(frontend["name"], backbone["name"])
        self.sample_rate = sample_rate
        self.chunk_seconds, self.hop_seconds = chunk_seconds, hop_seconds
        self.loudness = Loudness.from_dict(loudness)
        self.frontend_name: str = frontend["name"]
        self.backbone_name: str = backbone["name"]
        self.pretraining = dict(pretraining or {})
        self.frontend = build_frontend(frontend, sample_rate=sample_rate)
        self.augment = SpecAugment(**(augment or {}))
        self.backbone = build_backbone(backbone, input_shape=self.frontend.output_shape(
            sample_rate))
        self.head = ProjectionHead(self.backbone.embedding_dim, projection_dim,
                                   projection_hidden, pooling)
        # no labels: what inference reads of a classifier, empty
        self.id2label: dict[int, str] = {}
        self.task = "embedding"

    def embed(self, waveform: Tensor) -> Tensor:
        """Pooled embedding ``(batch, dim)``, what fine-tuning and probes build on."""
        return self.head.embed(self.backbone(self.augment(self.frontend(waveform))))

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples)`` → projections ``(batch, projection_dim)``."""
        return self.head(self.embed(waveform))

    def classify(self, embedding: Tensor) -> Tensor:
        """No classes: ``(batch, 0)``, so inference code that scores and embeds in one pass
        gets the embeddings and an empty score table."""
        return embedding.new_zeros(embedding.shape[0], 0)

    def probabilities(self, logits: Tensor) -> Tensor:
        return logits


def build_encoder(recipe: Recipe, pretraining: dict[str, Any]) -> ContrastiveEncoder:
    """The encoder a pretraining recipe describes (its ``model`` and ``pretrain`` sections;
    the model's ``head`` is the classifier's and is not used)."""
    model, data, settings = recipe.model, recipe.data, recipe.pretrain
    return ContrastiveEncoder(
        frontend=dict(model.frontend), backbone=dict(model.backbone),
        projection_dim=settings.projection_dim, projection_hidden=settings.projection_hidden,
        pooling=settings.pooling, augment=dict(model.augment) or None,
        sample_rate=data.sample_rate, chunk_seconds=data.crop_seconds,
        hop_seconds=data.eval_hop_seconds, loudness=dict(data.loudness), pretraining=pretraining)


def is_encoder_config(config: dict[str, Any]) -> bool:
    """Whether a saved model's ``config.json`` describes a :class:`ContrastiveEncoder`."""
    return ENCODER_MARKER in config

