"""Backbones: front-end features -> a sequence of embeddings ``(batch, dim, steps)``.

Build one by name with :func:`build_backbone`; names are the keys of :data:`BACKBONES`.
"""

from waveform_mir.backbones import cnn1d, cnn2d  # noqa: F401  (registration)
from waveform_mir.backbones.base import Backbone, InputKind
from waveform_mir.backbones.registry import (
    BACKBONES,
    backbone_kind,
    build_backbone,
    register_backbone,
)

__all__ = [
    "BACKBONES",
    "Backbone",
    "InputKind",
    "backbone_kind",
    "build_backbone",
    "register_backbone",
]
