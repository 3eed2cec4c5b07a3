"""Backbones by name: ``{"name": "short_chunk_cnn", **kwargs}`` -> module.

Builders are typed functions ``builder(*, input_shape, **kwargs) -> Backbone``, where
``input_shape`` is the front-end's per-example output shape (channels or bins are read from
it), registered with the input kind they accept for pair checking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waveform_mir.backbones.base import Backbone, InputKind
from waveform_mir.registry import Registry

BackboneBuilder = Callable[..., Backbone]

BACKBONES: Registry[BackboneBuilder] = Registry("backbone")


def register_backbone(
    name: str, input_kind: InputKind
) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Register a builder under ``name``, accepting ``input_kind`` features."""
    return BACKBONES.register(name, kind=input_kind)


def backbone_kind(name: str) -> InputKind:
    """The input kind a registered backbone accepts, without building it."""
    return BACKBONES.kind(name)  # type: ignore[return-value]


def build_backbone(config: dict[str, Any], *, input_shape: tuple[int, ...]) -> Backbone:
    """Build ``config["name"]`` for front-end outputs of per-example shape ``input_shape``."""
    return BACKBONES.build(config, input_shape=input_shape)
