"""Named builders: how recipes pick front-ends, backbones and data sources by a string.

Every swappable part of the package is a typed builder function registered under a name, so
that a recipe says ``{"name": "leaf", "num_filters": 64}`` and no if/else chain grows with
each new part. A registration may carry a ``kind`` (a front-end's output kind, a backbone's
input kind) that can be read without building anything, which is how the model checks a
front-end/backbone pair. Unknown names and unknown options fail before any work starts, with
the valid choices in the message.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

Builder = TypeVar("Builder", bound=Callable[..., Any])


class RegistryError(ValueError):
    """An unknown name or option; the message lists what is valid."""


class Registry(Generic[Builder]):
    """Builders of one family of parts (``what`` names the family in messages)."""

    def __init__(self, what: str, error: type[RegistryError] = RegistryError) -> None:
        self.what = what
        self.error = error
        self._builders: dict[str, Builder] = {}
        self._kinds: dict[str, str | None] = {}

    def register(self, name: str, kind: str | None = None) -> Callable[[Builder], Builder]:
        """Decorator: make ``builder`` available under ``name``."""

        def decorate(builder: Builder) -> Builder:
            if name in self._builders:
                raise self.error(f"{self.what} '{name}' is registered twice")
            self._builders[name] = builder
            self._kinds[name] = kind
            return builder

        return decorate

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._builders))

    def __contains__(self, name: object) -> bool:
        return name in self._builders

    def __len__(self) -> int:
        return len(self._builders)

    def get(self, name: str | None) -> Builder:
        if name not in self._builders:
            raise self.error(f"unknown {self.what} {name!r}; choose one of {list(self)}")
        return self._builders[name]

    def kind(self, name: str) -> str | None:
        """The kind registered with ``name``, without building anything."""
        self.get(name)
        return self._kinds[name]

    def build(self, config: dict[str, Any], **context: Any) -> Any:
        """Call ``config["name"]``'s builder with the other keys plus ``context`` (e.g. the
        sample rate), refusing options the builder does not take."""
        options = dict(config)
        name = options.pop("name", None)
        builder = self.get(name)
        parameters = inspect.signature(builder).parameters
        valid = set(parameters) - set(context)
        unknown = set(options) - valid
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            raise self.error(f"unknown option(s) {sorted(unknown)} for {self.what} '{name}'; "
                             f"valid: {sorted(valid)}")
        return builder(**context, **options)
