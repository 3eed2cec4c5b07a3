"""Front-ends: waveform ``(batch, samples)`` -> features for a backbone.

Build one by name with :func:`build_frontend` (``{"name": "leaf", **kwargs}``); the names are
the keys of :data:`FRONTENDS`. Importing this package registers every built-in front-end.
"""

from waveform_mir.frontends import leaf, mel, nnaudio, raw, sinc  # noqa: F401  (registration)
from waveform_mir.frontends.base import Frontend, OutputKind, TimeFrequencyFrontend
from waveform_mir.frontends.registry import (
    FRONTENDS,
    build_frontend,
    frontend_kind,
    register_frontend,
)

__all__ = [
    "FRONTENDS",
    "Frontend",
    "OutputKind",
    "TimeFrequencyFrontend",
    "build_frontend",
    "frontend_kind",
    "register_frontend",
]
