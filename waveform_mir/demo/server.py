"""``waveform-mir demo``: serve the genre page for a model on this machine.

Binds the loopback address unless ``--host`` says otherwise, so starting the demo never
exposes a port by accident. Gradio is an optional extra, imported only when the command runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
from dataclasses import dataclass

from waveform_mir.console import print_error
from waveform_mir.demo.analysis import Limits
from waveform_mir.predict import Predictor


@dataclass(frozen=True)
class ServerOptions:
    """Where the page listens and what it accepts."""

    host: str = "127.0.0.1"
    port: int = 7860
    limits: Limits = Limits()


def add_demo_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="serve the genre web page",
        description="Serve a web page that shows the genres of an uploaded song.")
    parser.add_argument("--model", required=True,
                        help="model folder, training run folder (uses best/) or Hub model id")
    parser.add_argument("--host", default=ServerOptions.host,
                        help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=ServerOptions.port)
    parser.add_argument("--max-upload-mb", type=float, default=Limits.max_upload_mb)
    parser.add_argument("--max-seconds", type=float, default=Limits.max_seconds,
                        help="analyse only the first seconds of longer files")
    parser.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError:
        print_error("the demo needs Gradio: pip install 'waveform-mir[demo]'")
        return 2
    options = ServerOptions(args.host, args.port, Limits(args.max_upload_mb, args.max_seconds))
    # A service manager stops the page with SIGTERM; exiting normally lets the private cache
    # and example folders be removed (they are registered with atexit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    launch(Predictor.from_pretrained(args.model), options)
    return 0


def launch(predictor: Predictor, options: ServerOptions, *, block: bool = True):
    """Build the page and serve it: until interrupted, or in the background (``block=False``,
    returning the running ``gradio.Blocks``; stop it with ``.close()``)."""
    from waveform_mir.demo.app import build_app

    page = build_app(predictor, options.limits)
    page.launch(server_name=options.host, server_port=options.port,
                max_file_size=options.limits.max_upload_bytes, prevent_thread_lock=not block,
                ssr_mode=False, quiet=not block)
    return page

