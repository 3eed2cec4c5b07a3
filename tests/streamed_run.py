"""A streamed training run that records which clips each process trained on.

Launched by ``tests/test_streaming.py`` under ``accelerate launch`` with two CPU processes:
``python streamed_run.py RECIPE OUT_DIR`` trains ``RECIPE`` and writes, per process,
``OUT_DIR/tracks_<rank>.json``: the track ids of every micro-batch, in order.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from waveform_mir.config import load_recipe
from waveform_mir.train import train
from waveform_mir.training import loop


def main(recipe_path: str, out_dir: str) -> None:
    seen: list[list[str]] = []
    real_loss = loop.training_loss

    def recording_loss(model, batch, *args, **kwargs):
        seen.append(list(batch["track_id"]))
        return real_loss(model, batch, *args, **kwargs)

    loop.training_loss = recording_loss
    result = train(load_recipe(recipe_path))
    from accelerate import PartialState

    rank = PartialState().process_index
    (Path(out_dir) / f"tracks_{rank}.json").write_text(json.dumps(seen))
    print(f"process {rank}: {len(seen)} micro-batches, {result.steps} steps")


if __name__ == "__main__":
    main(*sys.argv[1:])
