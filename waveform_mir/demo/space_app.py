"""The page as a Hugging Face Space: the Space's ``app.py`` is two lines.

Settings come from the Space's variables, because a Space has no command line:
``WAVEFORM_MIR_MODEL`` (Hub model id, required), ``WAVEFORM_MIR_MAX_UPLOAD_MB`` (default 50)
and ``WAVEFORM_MIR_MAX_SECONDS`` (default 600). Spaces set ``GRADIO_SERVER_NAME`` and
``GRADIO_SERVER_PORT`` themselves, and Gradio reads them.

``app.py`` of the Space (its ``requirements.txt`` lists ``waveform-mir[demo]``)::

    from waveform_mir.demo.space_app import main

    main()
"""

from __future__ import annotations

import os

from waveform_mir.demo.analysis import Limits
from waveform_mir.demo.app import build_app
from waveform_mir.predict import Predictor


def limits_from_environment() -> Limits:
    return Limits(
        max_upload_mb=float(os.environ.get("WAVEFORM_MIR_MAX_UPLOAD_MB", Limits.max_upload_mb)),
        max_seconds=float(os.environ.get("WAVEFORM_MIR_MAX_SECONDS", Limits.max_seconds)),
    )


def main() -> None:
    model = os.environ.get("WAVEFORM_MIR_MODEL")
    if not model:
        raise SystemExit("set the Space variable WAVEFORM_MIR_MODEL to a Hub model id")
    limits = limits_from_environment()
    page = build_app(Predictor.from_pretrained(model), limits)
    page.launch(max_file_size=limits.max_upload_bytes, ssr_mode=False)


if __name__ == "__main__":
    main()
