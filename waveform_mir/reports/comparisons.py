"""The uncertainty of an ablation table: each row's 95 % intervals over the test tracks and
its paired comparison with the reference row, read from the per-track test outputs every
cell and baseline keeps (``tracks_file`` of a result row), and written as Markdown.

A row (a variant) gets intervals only when every one of its seeds left its outputs: an
interval over some seeds beside a mean over all would describe two different numbers. Cells
trained before the outputs were kept, and rows on other tracks than the reference's, get no
interval or comparison (and are named), never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from waveform_mir.evaluation.paired import ALPHA, Comparison, compare_rows
from waveform_mir.evaluation.track_outputs import TrackOutputs
from waveform_mir.evaluation.uncertainty import Bootstrap, Interval, row_intervals


@dataclass
class TableUncertainty:
    """``intervals`` per row name and metric, ``comparisons`` against ``reference``
    (Holm-adjusted per metric), ``tracks`` scored, and the rows ``without`` outputs."""

    bootstrap: Bootstrap
    reference: str | None
    intervals: dict[str, dict[str, Interval]] = field(default_factory=dict)
    comparisons: list[Comparison] = field(default_factory=list)
    tracks: int | None = None
    without: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference,
                "bootstrap": self.bootstrap.describe(self.tracks) if self.tracks else None,
                "comparisons": [comparison.to_dict() for comparison in self.comparisons],
                "without_outputs": self.without}


def _row_outputs(rows: list[dict[str, Any]]) -> tuple[dict[str, list[TrackOutputs]], list[str]]:
    """Each variant's seeds' outputs (in row order), and the variants lacking some."""
    outputs, without = {}, []
    for variant in dict.fromkeys(row["variant"] for row in rows):
        files = [row.get("tracks_file") for row in rows if row["variant"] == variant]
        if all(name and Path(name).is_file() for name in files):
            outputs[variant] = [TrackOutputs.load(Path(name)) for name in files]
        else:
            without.append(variant)
    return outputs, without


def table_uncertainty(rows: list[dict[str, Any]], reference: str,
                      bootstrap: Bootstrap | None = None) -> TableUncertainty:
    """Intervals of every row that kept its outputs, and the paired comparison of every
    such row on the reference's tracks with ``reference``."""
    bootstrap = bootstrap or Bootstrap()
    outputs, without = _row_outputs(rows)
    table = TableUncertainty(bootstrap, reference if reference in outputs else None,
                             without=without)
    if not outputs:
        return table
    table.tracks = len(next(iter(outputs.values()))[0].track_ids)
    samples: dict = {}
    if table.reference:
        tracks = set(outputs[reference][0].track_ids.tolist())
        comparable = {name: seeds for name, seeds in outputs.items()
                      if all(set(s.track_ids.tolist()) == tracks for s in seeds)}
        table.comparisons = compare_rows(comparable, reference, bootstrap, samples)
    for name, seeds in outputs.items():
        table.intervals[name] = ({metric: bootstrap.bounds(values)
                                  for metric, values in samples[name].items()}
                                 if name in samples else row_intervals(seeds, bootstrap))
    return table


def _number(value: float | None, text: str = "{:+.3f}") -> str:
    return "–" if value is None else text.format(value)


def comparisons_markdown(table: TableUncertainty, titles: dict[str, str],
                         seeds: dict[str, int]) -> str:
    """The paired-comparison section of ``results.md``: one table per metric (``titles``:
    metric → column title), each a family Holm's correction runs over."""
    if table.reference is None:
        return ("\nNo paired comparisons: the reference row has no per-track test outputs "
                "(trained before they were kept).\n")
    lines = [
        f"\n## Paired against `{table.reference}` (the same {table.tracks} test tracks)\n",
        f"Difference of the row means (row − {table.reference}; for log loss lower is "
        f"better), its {table.bootstrap.level:.0%} paired-bootstrap interval "
        f"({table.bootstrap.resamples} resamples of the tracks, the same draws for every "
        "row and seed), the two-sided p (exact McNemar for accuracy between single-seed "
        "rows, else the paired bootstrap's) and p after Holm's correction over the rows of "
        f"each table; the verdict reads the Holm p at {ALPHA}.\n"]
    for metric in dict.fromkeys(c.metric for c in table.comparisons):
        lines += [f"### {titles.get(metric, metric)}\n",
                  "| row | seeds | difference | interval | p | test | Holm p | verdict |",
                  "|---|---|---|---|---|---|---|---|"]
        for c in (c for c in table.comparisons if c.metric == metric):
            interval = f"[{_number(c.low)}, {_number(c.high)}]"
            lines.append(f"| {c.variant} | {seeds[c.variant]} vs {seeds[c.reference]} | "
                         f"{_number(c.difference)} | {interval} | "
                         f"{_number(c.p_value, '{:.3g}')} | {c.test} | "
                         f"{_number(c.holm_p, '{:.3g}')} | {c.verdict} |")
        lines.append("")
    if table.without:
        lines.append(f"Without per-track test outputs (no interval, no comparison): "
                     f"{', '.join(table.without)}.\n")
    return "\n".join(lines)
