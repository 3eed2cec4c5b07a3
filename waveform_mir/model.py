"""WaveformClassifier: front-end -> (masking) -> backbone -> head, built from plain dicts.

Every constructor argument is JSON, so ``huggingface_hub``'s mixin writes them to
``config.json`` and ``from_pretrained`` rebuilds the exact architecture from the checkpoint
folder (or Hub repo) alone; the weights go to ``model.safetensors`` and the label map travels
inside the config.
"""

from __future__ import annotations

from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin
from torch import Tensor, nn

from waveform_mir.augment import SpecAugment
from waveform_mir.backbones import BACKBONES, backbone_kind, build_backbone
from waveform_mir.config import DataConfig, ModelConfig
from waveform_mir.data.loudness import Loudness
from waveform_mir.frontends import FRONTENDS, build_frontend, frontend_kind
from waveform_mir.heads import OUTPUT_ACTIVATIONS, ClassifierHead, output_probabilities


class ModelPairError(ValueError):
    """A front-end and a backbone of different kinds (e.g. a 2D map into a 1D network)."""


def valid_pairs() -> list[tuple[str, str]]:
    """Every registered ``(frontend, backbone)`` pair whose kinds match."""
    return [
        (frontend, backbone)
        for frontend in sorted(FRONTENDS)
        for backbone in sorted(BACKBONES)
        if frontend_kind(frontend) == backbone_kind(backbone)
    ]


def check_pair(frontend: str, backbone: str) -> None:
    """Raise :class:`ModelPairError` listing the valid pairs if the kinds differ."""
    if frontend_kind(frontend) != backbone_kind(backbone):
        pairs = ", ".join(f"{f}+{b}" for f, b in valid_pairs())
        raise ModelPairError(
            f"front-end '{frontend}' produces {frontend_kind(frontend)} features but backbone "
            f"'{backbone}' expects {backbone_kind(backbone)}; valid pairs: {pairs}"
        )


class WaveformClassifier(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="waveform-mir",
    tags=["audio-classification", "music", "genre"],
):
    """Genre classifier from raw waveforms ``(batch, samples)`` to logits ``(batch, classes)``.

    Args:
        frontend: ``{"name": <FRONTENDS key>, **kwargs}``.
        backbone: ``{"name": <BACKBONES key>, **kwargs}``; must accept the front-end's kind.
        head: ``{"dropout": float, "pooling": "mean" | "max" | "attention"}``.
        augment: SpecAugment counts/widths (see :class:`~waveform_mir.augment.SpecAugment`),
            applied to front-end outputs in training mode only.
        sample_rate: rate the front-end is built for; inputs must already be at this rate.
        id2label: class id -> name; keys may be strings (as after a JSON round trip).
        chunk_seconds: the crop length it was trained on; prediction cuts tracks into chunks
            of this length.
        hop_seconds: the distance between chunk starts its evaluation used (``None``: no
            overlap), so that ``predict`` scores a file exactly as evaluation did.
        loudness: how each track was levelled before it reached the model in training
            (:class:`~waveform_mir.data.loudness.Loudness` as a dict; ``None``: not at all,
            as in checkpoints that predate the setting). Together these make a checkpoint
            need nothing else to be fed and scored as it was trained and evaluated.
        task: ``single_label`` (``id2label`` are classes, softmax) or ``multi_label``
            (``id2label`` are tags, one sigmoid each, decided at per-tag ``thresholds``).
    """

    def __init__(
        self,
        frontend: dict[str, Any],
        backbone: dict[str, Any],
        head: dict[str, Any] | None = None,
        augment: dict[str, Any] | None = None,
        sample_rate: int = 16000,
        id2label: dict[int | str, str] | None = None,
        chunk_seconds: float | None = None,
        hop_seconds: float | None = None,
        loudness: dict[str, Any] | None = None,
        task: str = "single_label",
    ) -> None:
        super().__init__()
        check_pair(frontend["name"], backbone["name"])
        if not id2label:
            raise ValueError("id2label must name at least one class")
        self.id2label: dict[int, str] = {int(k): v for k, v in sorted(id2label.items(), key=_id)}
        self.label2id: dict[str, int] = {v: k for k, v in self.id2label.items()}
        self.sample_rate = sample_rate
        self.chunk_seconds = chunk_seconds
        self.hop_seconds = hop_seconds
        self.loudness = Loudness.from_dict(loudness)
        if task not in OUTPUT_ACTIVATIONS:
            raise ValueError(f"unknown task {task!r}; choose one of {sorted(OUTPUT_ACTIVATIONS)}")
        self.task = task
        # registry names, so two models can be told to share an architecture (warm starts)
        self.frontend_name: str = frontend["name"]
        self.backbone_name: str = backbone["name"]
        self.frontend = build_frontend(frontend, sample_rate=sample_rate)
        self.augment = SpecAugment(**(augment or {}))
        probe = self.frontend.output_shape(sample_rate)  # channels/bins do not depend on length
        self.backbone = build_backbone(backbone, input_shape=probe)
        self.head = ClassifierHead(self.backbone.embedding_dim, len(self.id2label), **(head or {}))
        # Logits are divided by this; 1 while training, fitted on validation afterwards (see
        # waveform_mir.evaluation.calibration). A buffer, so it travels with the weights;
        # checkpoints saved without it load with 1.
        self.register_buffer("temperature", torch.ones(()))
        # A multi-label model says "tag present" when its probability reaches the tag's
        # threshold, chosen per tag on validation after training (0.5 until then). A buffer
        # for the same reason as the temperature.
        self.register_buffer("thresholds", torch.full((len(self.id2label),), 0.5))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any) -> None:
        """Weights saved before the temperature or the thresholds existed load, keeping the
        values the model holds (in a freshly built one the defaults, 1 and 0.5 per tag) —
        in ``from_pretrained`` and when a training run resumes an older checkpoint alike."""
        for name in ("temperature", "thresholds"):
            state_dict.setdefault(prefix + name, getattr(self, name).detach().clone())
        super()._load_from_state_dict(state_dict, prefix, *args)

    def features(self, waveform: Tensor) -> Tensor:
        """Backbone output sequence ``(batch, dim, steps)``; masked in training mode."""
        return self.backbone(self.augment(self.frontend(waveform)))

    def embed(self, waveform: Tensor) -> Tensor:
        """Pooled embedding ``(batch, dim)`` — before the head's dropout and linear layer."""
        return self.head.embed(self.features(waveform))

    def forward(self, waveform: Tensor) -> Tensor:
        """``(batch, samples)`` -> logits ``(batch, len(id2label))``, temperature-scaled."""
        return self.classify(self.embed(waveform))

    def classify(self, embedding: Tensor) -> Tensor:
        """Embedding ``(batch, dim)`` -> temperature-scaled logits ``(batch, classes)``."""
        return self.head.classify(embedding) / self.temperature

    def probabilities(self, logits: Tensor) -> Tensor:
        """``(batch, classes)`` logits → probabilities, by the model's task."""
        return output_probabilities(logits, self.task)

    def describe(self, num_samples: int) -> list[dict[str, Any]]:
        """Parameters and output shape per stage for clips of ``num_samples`` (batch of one).

        Rows: ``{"stage", "module", "trainable", "total", "output_shape"}``, in data order; the
        last row sums the model.
        """
        was_training = self.training
        device = next(self.parameters()).device
        self.eval()
        try:
            with torch.no_grad():
                features = self.frontend(torch.zeros(1, num_samples, device=device))
                sequence = self.backbone(features)
                logits = self.head(sequence)
        finally:
            self.train(was_training)
        stages = [
            ("frontend", self.frontend, features),
            ("backbone", self.backbone, sequence),
            ("head", self.head, logits),
        ]
        rows = [_row(stage, module, tuple(out.shape)) for stage, module, out in stages]
        rows.append(_row("total", self, tuple(logits.shape)))
        return rows


def _id(item: tuple[int | str, str]) -> int:
    return int(item[0])


def _row(stage: str, module: nn.Module, shape: tuple[int, ...]) -> dict[str, Any]:
    params = list(module.parameters())
    return {
        "stage": stage,
        "module": type(module).__name__,
        "trainable": sum(p.numel() for p in params if p.requires_grad),
        "total": sum(p.numel() for p in params),
        "output_shape": shape,
    }


def build_model_for_data(model_config: ModelConfig, data_config: DataConfig,
                         id2label: dict[int, str]) -> WaveformClassifier:
    """The classifier for ``model_config``, recording how ``data_config`` cuts and levels
    tracks (crop length, evaluation hop, loudness) so inference repeats it exactly."""
    return build_model(model_config, sample_rate=data_config.sample_rate, id2label=id2label,
                       chunk_seconds=data_config.crop_seconds,
                       hop_seconds=data_config.eval_hop_seconds,
                       loudness=dict(data_config.loudness), task=data_config.task)


def build_model(
    model_config: ModelConfig, *, sample_rate: int, id2label: dict[int, str],
    chunk_seconds: float | None = None, hop_seconds: float | None = None,
    loudness: dict[str, Any] | None = None, task: str = "single_label",
) -> WaveformClassifier:
    """Build the classifier a recipe's ``model`` section describes."""
    return WaveformClassifier(
        frontend=dict(model_config.frontend),
        backbone=dict(model_config.backbone),
        head=dict(model_config.head) or None,
        augment=dict(model_config.augment) or None,
        sample_rate=sample_rate,
        id2label=dict(id2label),
        chunk_seconds=chunk_seconds,
        hop_seconds=hop_seconds,
        loudness=loudness,
        task=task,
    )
