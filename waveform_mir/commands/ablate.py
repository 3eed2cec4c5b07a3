"""``waveform-mir ablate GRID``: front-ends × seeds, everything else equal (under
``accelerate launch scripts/ablate.py GRID`` for several processes)."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from accelerate import PartialState

from waveform_mir.ablate import AblationGrid, run_ablation
from waveform_mir.train import cpu_data_parallel

from .options import add_folds_argument, add_overrides


def register(subparsers) -> None:
    parser = subparsers.add_parser("ablate", help="front-ends × seeds, everything else equal",
                                   description="Train every cell of an ablation grid, resumably, "
                                               "and write the comparison table and plots.")
    parser.add_argument("grid", help="ablation grid YAML (see recipes/ablations/)")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default runs/ablations/<grid name>)")
    parser.add_argument("--rows", nargs="+", default=None, metavar="NAME",
                        help="train and report only these variants and probes (the grid's "
                             "baselines still run)")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, metavar="SEED",
                        help="train and report only these of the grid's seeds (the others "
                             "can follow into the same --out later)")
    parser.add_argument("--reference", default=None, metavar="ROW",
                        help="the row every other is paired against, e.g. baseline:lr "
                             "(default: the grid's reference, else mel)")
    add_folds_argument(parser)
    add_overrides(parser, "applied to every cell")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    grid = AblationGrid.load(args.grid)
    if args.rows:
        grid = grid.only(args.rows)
    if args.seeds:
        grid = grid.only_seeds(args.seeds)
    if args.reference:
        grid = grid.compared_with(args.reference)
    if args.folds:
        grid = dataclasses.replace(grid, folds=args.folds)
    output_dir = args.out or Path("runs/ablations") / grid.name
    state = PartialState(cpu=cpu_data_parallel())
    run_ablation(grid, output_dir, args.overrides, is_main=state.is_main_process)
    return 0

