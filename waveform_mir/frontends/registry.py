"""Front-ends by name: recipes say ``{"name": "leaf", **kwargs}`` and this builds the module.

Each builder is a typed function ``builder(*, sample_rate, **kwargs) -> Frontend``; the
decorator records the output kind on the builder itself, so that the model can check a
front-end/backbone pair — and list the valid ones — without building anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from waveform_mir.frontends.base import Frontend, OutputKind

FrontendBuilder = Callable[..., Frontend]

FRONTENDS: dict[str, FrontendBuilder] = {}


def register_frontend(
    name: str, output_kind: OutputKind
) -> Callable[[FrontendBuilder], FrontendBuilder]:
    """Register ``builder`` under ``name``; ``builder.output_kind`` is set to ``output_kind``."""

    def decorate(builder: FrontendBuilder) -> FrontendBuilder:
        if name in FRONTENDS:
            raise ValueError(f"front-end '{name}' is already registered")
        builder.output_kind = output_kind  # type: ignore[attr-defined]
        FRONTENDS[name] = builder
        return builder

    return decorate


def frontend_kind(name: str) -> OutputKind:
    """The output kind of a registered front-end, without building it."""
    return _lookup(name).output_kind  # type: ignore[attr-defined]


def build_frontend(config: dict[str, Any], *, sample_rate: int) -> Frontend:
    """Build ``config["name"]`` with the remaining keys as keyword arguments."""
    options = dict(config)
    name = options.pop("name", None)
    return _lookup(name)(sample_rate=sample_rate, **options)


def _lookup(name: str | None) -> FrontendBuilder:
    if name not in FRONTENDS:
        raise KeyError(f"unknown front-end {name!r}; registered: {sorted(FRONTENDS)}")
    return FRONTENDS[name]
