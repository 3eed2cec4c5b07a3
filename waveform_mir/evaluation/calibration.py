"""Temperature scaling (Guo et al. 2017): one scalar that makes the probabilities honest.

Small data need label smoothing and mixup, and both train a network to be under-confident:
its ranking of genres is fine, its log loss (the FMA challenge's headline metric) is not.
Dividing the logits by a temperature ``T`` fitted on validation fixes the confidence without
changing which genre a chunk ranks first. ``T`` minimises the *track-level* log loss, the
quantity reported, so averaging chunk probabilities per track is part of the fit. A grid
search over log-spaced values is used instead of gradient descent: it is one parameter,
the grid is exhaustive and the result does not depend on a starting point or step size.
"""

from __future__ import annotations

import numpy as np
import torch
from accelerate import Accelerator
from torch.utils.data import DataLoader

from waveform_mir.evaluation.metrics import log_loss
from waveform_mir.evaluation.tracks import ChunkOutputs, chunk_outputs

TEMPERATURES = np.exp(np.linspace(np.log(0.1), np.log(10.0), 241))


def track_log_loss(outputs: ChunkOutputs, temperature: float) -> float:
    """Mean negative log-probability of each track's true genre at ``temperature``."""
    predictions = outputs.track_predictions(temperature)
    return log_loss(predictions.probabilities, predictions.labels)


def fit_temperature(outputs: ChunkOutputs, temperatures: np.ndarray = TEMPERATURES) -> float:
    """The temperature (relative to the logits' current one) with the lowest track log loss."""
    losses = [track_log_loss(outputs, float(t)) for t in temperatures]
    return float(temperatures[int(np.argmin(losses))])


def calibrate(model: torch.nn.Module, loader: DataLoader, accelerator: Accelerator
              ) -> tuple[float, float]:
    """Fit on every chunk of a prepared ``loader`` and multiply the fit into the model's
    ``temperature`` (so calibrating twice is harmless); returns the track log loss on those
    chunks before and after."""
    outputs = chunk_outputs(model, loader, accelerator, description="calibrate")
    relative = fit_temperature(outputs)
    accelerator.unwrap_model(model).temperature.mul_(relative)
    return track_log_loss(outputs, 1.0), track_log_loss(outputs, relative)
