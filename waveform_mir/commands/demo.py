"""``waveform-mir demo --model MODEL``: serve the genre web page on this machine."""

from __future__ import annotations

import argparse
import signal
import sys

from waveform_mir.console import print_error
from waveform_mir.demo.analysis import Limits
from waveform_mir.demo.server import ServerOptions, launch
from waveform_mir.predict import Predictor

from .options import add_model_argument


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="serve the genre web page",
        description="Serve a web page that shows the genres of an uploaded song.")
    add_model_argument(parser)
    parser.add_argument("--host", default=ServerOptions.host,
                        help="address to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=ServerOptions.port)
    parser.add_argument("--max-upload-mb", type=float, default=Limits.max_upload_mb)
    parser.add_argument("--max-seconds", type=float, default=Limits.max_seconds,
                        help="analyse only the first seconds of longer files")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        import gradio  # noqa: F401
    except ImportError:
        print_error("the demo needs Gradio: pip install 'waveform-mir[demo]'")
        return 2
    options = ServerOptions(args.host, args.port, Limits(args.max_upload_mb, args.max_seconds))
    # A service manager stops the page with SIGTERM; exiting normally lets the private cache
    # and example folders be removed (they are registered with atexit).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    predictor = Predictor.from_pretrained(args.model)
    predictor.require_labels()
    launch(predictor, options)
    return 0
