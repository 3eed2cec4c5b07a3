"""Serve the genre page for a model on this machine (``waveform-mir demo``).

Binds the loopback address unless told otherwise, so starting the demo never exposes a port
by accident. Gradio is an optional extra, imported only when the page is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from waveform_mir.demo.analysis import Limits
from waveform_mir.predict import Predictor


@dataclass(frozen=True)
class ServerOptions:
    """Where the page listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 7860
    limits: Limits = Limits()


def launch(predictor: Predictor, options: ServerOptions, *, block: bool = True):
    """Build the page and serve it: until interrupted, or in the background (``block=False``,
    returning the running ``gradio.Blocks``; stop it with ``.close()``)."""
    from waveform_mir.demo.app import build_app

    page = build_app(predictor, options.limits)
    page.launch(server_name=options.host, server_port=options.port,
                max_file_size=options.limits.max_upload_bytes, prevent_thread_lock=not block,
                ssr_mode=False, quiet=not block)
    return page

