"""Dataset builders by name: ``DataConfig.source`` → a function of ``DataConfig.options``.

A new data source is one decorated function, and :func:`build_manifest` needs no if/else
chain. Unknown option names are refused with the builder's valid choices, so that a typo in
a recipe fails before any work starts.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ..registry import Registry, RegistryError
from .manifest import Manifest

Builder = Callable[..., Manifest]


class DataSourceError(RegistryError):
    """An unknown source name or builder option; the message lists the valid choices."""


SOURCES: Registry[Builder] = Registry("dataset source", error=DataSourceError)


def register_builder(name: str) -> Callable[[Builder], Builder]:
    """Decorator: make ``builder`` available as ``DataConfig(source=name)``."""
    return SOURCES.register(name)


def available_sources() -> list[str]:
    return list(SOURCES)


def builder_options(source: str, options: dict[str, Any]) -> dict[str, Any]:
    """``options`` as ``source``'s builder takes them. ``streaming`` is an option of every
    source, read by :func:`~.prepare.prepare_dataset`; it reaches only a builder that streams
    by itself (``hub``, which then loads the Hub dataset lazily)."""
    if "streaming" in inspect.signature(SOURCES.get(source)).parameters:
        return dict(options)
    return {name: value for name, value in options.items() if name != "streaming"}


def build_manifest(source: str, options: dict[str, Any]) -> Manifest:
    """Run the builder registered as ``source`` with ``options`` as keyword arguments."""
    return SOURCES.build({"name": source, **options})
