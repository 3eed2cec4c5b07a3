"""Run a front-end ablation grid; the driver lives in :mod:`waveform_mir.ablate`,
the command in :mod:`waveform_mir.commands.ablate`.

    python scripts/ablate.py recipes/ablations/realmusic.yaml --out runs/ablations/realmusic
    accelerate launch scripts/ablate.py recipes/ablations/realmusic.yaml   # several processes

The same as ``waveform-mir ablate``, kept as a script so that ``accelerate launch`` can start
it by path, as it does the Hugging Face example scripts.
"""

import sys

from waveform_mir.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["ablate", *sys.argv[1:]]))
