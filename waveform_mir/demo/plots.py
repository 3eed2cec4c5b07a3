"""The genre-over-time heatmap: one column per chunk, one row per genre.

Built on a bare :class:`matplotlib.figure.Figure` (no pyplot state), so concurrent requests
on the server's worker threads never draw into each other's figures.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from waveform_mir.predict import TrackScores

_ROW_INCHES = 0.32
_MIN_HEIGHT_INCHES = 2.4


def timeline_figure(scores: TrackScores) -> Figure:
    """Heatmap of ``scores.timeline`` ``(chunks, classes)`` against time in seconds.

    Column ``i`` spans from chunk ``i``'s start to the next chunk's start (the last one to the
    end of the audio), so the x axis reads as time in the track.
    """
    edges = np.append(scores.chunk_starts_s, scores.duration_s)
    rows = np.arange(len(scores.labels) + 1) - 0.5
    height = max(_MIN_HEIGHT_INCHES, 1.3 + _ROW_INCHES * len(scores.labels))
    figure = Figure(figsize=(9, height), layout="constrained")
    axes = figure.add_subplot()
    mesh = axes.pcolormesh(edges, rows, scores.timeline.T, cmap="magma", vmin=0.0, vmax=1.0)
    axes.set_yticks(np.arange(len(scores.labels)), scores.labels)
    axes.invert_yaxis()
    axes.set_xlabel("time (s)")
    what = "tag" if scores.thresholds is not None else "genre"
    axes.set_title(f"{what} scores over time (one column per chunk)")
    figure.colorbar(mesh, ax=axes, label="probability", pad=0.01)
    return figure
