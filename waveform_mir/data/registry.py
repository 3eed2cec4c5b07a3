"""Dataset builders by name: ``DataConfig.source`` → a function of ``DataConfig.options``.

A new data source is one decorated function, and :func:`build_manifest` needs no if/else
chain. Builders validate their own options; unknown option names are refused here with the
builder's valid choices, so that a typo in a recipe fails before any work starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .manifest import Manifest

Builder = Callable[..., Manifest]

_BUILDERS: dict[str, Builder] = {}


class DataSourceError(ValueError):
    """An unknown source name or builder option; the message lists the valid choices."""


def register_builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder`` available as ``DataConfig(source=name)``."""

    def decorate(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise DataSourceError(f"dataset source '{name}' is registered twice")
        _BUILDERS[name] = builder
        return builder

    return decorate


def available_sources() -> list[str]:
    return sorted(_BUILDERS)


def get_builder(name: str) -> Builder:
    if name not in _BUILDERS:
        raise DataSourceError(
            f"unknown dataset source '{name}'; choose one of {available_sources()}"
        )
    return _BUILDERS[name]


def build_manifest(source: str, options: dict[str, Any]) -> Manifest:
    """Run the builder registered as ``source`` with ``options`` as keyword arguments."""
    builder = get_builder(source)
    valid = set(inspect.signature(builder).parameters)
    unknown = set(options) - valid
    if unknown:
        raise DataSourceError(
            f"unknown option(s) {sorted(unknown)} for source '{source}'; valid: {sorted(valid)}"
        )
    return builder(**options)
