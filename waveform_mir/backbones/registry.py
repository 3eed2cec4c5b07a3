"""Backbones by name: ``{"name": "short_chunk_cnn", **kwargs}`` -> module.

Builders are typed functions ``builder(*, input_shape, **kwargs) -> Backbone``, where
``input_shape`` is the front-end's per-example output shape (channels or bins are read from
it). The decorator records the accepted input kind on the builder for pair checking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waveform_mir.backbones.base import Backbone, InputKind

BackboneBuilder = Callable[..., Backbone]

BACKBONES: dict[str, BackboneBuilder] = {}


def register_backbone(
    name: str, input_kind: InputKind
) -> Callable[[BackboneBuilder], BackboneBuilder]:
    """Register ``builder`` under ``name``; ``builder.input_kind`` is set to ``input_kind``."""

    def decorate(builder: BackboneBuilder) -> BackboneBuilder:
        if name in BACKBONES:
            raise ValueError(f"backbone '{name}' is already registered")
        builder.input_kind = input_kind  # type: ignore[attr-defined]
        BACKBONES[name] = builder
        return builder

    return decorate


def backbone_kind(name: str) -> InputKind:
    """The input kind a registered backbone accepts, without building it."""
    return _lookup(name).input_kind  # type: ignore[attr-defined]


def build_backbone(config: dict[str, Any], *, input_shape: tuple[int, ...]) -> Backbone:
    """Build ``config["name"]`` for front-end outputs of per-example shape ``input_shape``."""
    options = dict(config)
    name = options.pop("name", None)
    return _lookup(name)(input_shape=input_shape, **options)


def _lookup(name: str | None) -> BackboneBuilder:
    if name not in BACKBONES:
        raise KeyError(f"unknown backbone {name!r}; registered: {sorted(BACKBONES)}")
    return BACKBONES[name]
