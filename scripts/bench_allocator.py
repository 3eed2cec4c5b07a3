"""The grid cells' cost with freed memory retained (as ``waveform-mir`` runs) and with the C
library's default allocator, side by side.

How the process allocates is fixed once per process, so the two settings cannot share one:
this script runs ``scripts/bench_frontends.py --grid`` in fresh processes, alternating the
settings ``--pairs`` times (system, retain, system, retain, ...), so that a machine slowing
down mid-run shifts both alike. It prints, per cell, the median over pairs of the training
step and of the front-end's forward + backward under each setting, the speed-up, and each
setting's ratio to the grid's mel cell (the issue's targets read the ratios).

    python scripts/bench_allocator.py --grid recipes/ablations/realmusic.yaml --threads 1 \\
        --variants leaf sinc nnaudio_cqt --out allocator.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

SETTINGS = ("system", "retain")
TIMES = ("train_step_s", "frontend_fwd_bwd_s")
BENCH = Path(__file__).with_name("bench_frontends.py")


def parse_args() -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3,
                        help="runs of each setting, alternated (default 3)")
    parser.add_argument("--out", type=Path, default=None, help="write the table as JSON here")
    return parser.parse_known_args()  # everything else goes to bench_frontends.py --grid


def run_bench(setting: str, bench_args: list[str], folder: Path, index: int) -> dict[str, Any]:
    out = folder / f"{setting}-{index}.json"
    command = [sys.executable, str(BENCH), *bench_args, "--allocator", setting, "--out", str(out)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


def summarise(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per variant and setting, medians over the runs of each time and of its mel ratio."""
    variants = [row["variant"] for row in runs[SETTINGS[0]][0]["rows"]]
    rows = []
    for variant in variants:
        row: dict[str, Any] = {"variant": variant}
        for setting in SETTINGS:
            cells = [next(r for r in run["rows"] if r["variant"] == variant)
                     for run in runs[setting]]
            for key in TIMES:
                ratio = key.removesuffix("_s") + "_ratio"
                row[f"{setting}_{key}"] = statistics.median(cell[key] for cell in cells)
                row[f"{setting}_{ratio}"] = statistics.median(cell[ratio] for cell in cells)
        for key in TIMES:
            row[f"speedup_{key}"] = row[f"system_{key}"] / row[f"retain_{key}"]
        rows.append(row)
    return rows


def render(rows: list[dict[str, Any]], title: str) -> Table:
    table = Table(title=title)
    for column in ("variant", "step ms system → retain", "× mel", "speed-up",
                   "front-end ms system → retain", "× mel", "speed-up"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for row in rows:
        cells = [row["variant"]]
        for key in TIMES:
            ratio = key.removesuffix("_s") + "_ratio"
            cells += [f"{1000 * row[f'system_{key}']:.0f} → {1000 * row[f'retain_{key}']:.0f}",
                      f"{row[f'system_{ratio}']:.2f} → {row[f'retain_{ratio}']:.2f}",
                      f"{row[f'speedup_{key}']:.2f}×"]
        table.add_row(*cells)
    return table


def main() -> None:
    args, bench_args = parse_args()
    if "--grid" not in bench_args:
        raise SystemExit("bench_allocator.py needs --grid GRID (passed to bench_frontends.py)")
    runs: dict[str, list[dict[str, Any]]] = {setting: [] for setting in SETTINGS}
    with tempfile.TemporaryDirectory() as folder:
        for index in range(args.pairs):
            for setting in SETTINGS:
                runs[setting].append(run_bench(setting, bench_args, Path(folder), index))
    retained = [run["retained"] for run in runs["retain"]]
    if not all(retained):
        Console().print("[yellow]this C library is not glibc: 'retain' changed nothing[/]")
    rows = summarise(runs)
    setting = runs["retain"][0]["setting"].split(" on ", 1)[-1]
    Console(width=200).print(render(rows, f"system allocator → freed memory retained, "
                                          f"medians of {args.pairs} alternated runs, {setting}"))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"bench_args": bench_args, "pairs": args.pairs,
                                        "rows": rows, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
