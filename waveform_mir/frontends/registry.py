"""Front-ends by name: recipes say ``{"name": "leaf", **kwargs}`` and this builds the module.

Each builder is a typed function ``builder(*, sample_rate, **kwargs) -> Frontend`` registered
with its output kind, so the model can check a front-end/backbone pair, and list the valid
ones, without building anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waveform_mir.frontends.base import Frontend, OutputKind
from waveform_mir.registry import Registry

FrontendBuilder = Callable[..., Frontend]

FRONTENDS: Registry[FrontendBuilder] = Registry("front-end")


def register_frontend(
    name: str, output_kind: OutputKind
) -> Callable[[FrontendBuilder], FrontendBuilder]:
    """Register a builder under ``name``, producing ``output_kind`` features."""
    return FRONTENDS.register(name, kind=output_kind)


def frontend_kind(name: str) -> OutputKind:
    """The output kind of a registered front-end, without building it."""
    return FRONTENDS.kind(name)  # type: ignore[return-value]


def build_frontend(config: dict[str, Any], *, sample_rate: int) -> Frontend:
    """Build ``config["name"]`` with the remaining keys as keyword arguments."""
    return FRONTENDS.build(config, sample_rate=sample_rate)
