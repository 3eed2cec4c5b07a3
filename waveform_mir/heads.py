"""Classification head: temporal pooling, then dropout + linear.

Backbones return ``(batch, dim, steps)``; how the steps are summarised is a modelling choice
(mean for texture, max for salient events, attention to learn which steps matter), so it
lives here, picked by name, and the pooled vector doubles as the track embedding.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn


class MeanPool(nn.Module):
    """``(B, D, T) -> (B, D)``: average over steps."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        del dim  # same signature as the learnable pooling

    def forward(self, sequence: Tensor) -> Tensor:
        return sequence.mean(dim=-1)


class MaxPool(nn.Module):
    """``(B, D, T) -> (B, D)``: maximum over steps."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        del dim

    def forward(self, sequence: Tensor) -> Tensor:
        return sequence.amax(dim=-1)


class AttentionPool(nn.Module):
    """``(B, D, T) -> (B, D)``: softmax-weighted average with a learned score per step."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Conv1d(dim, 1, kernel_size=1)

    def forward(self, sequence: Tensor) -> Tensor:
        weights = torch.softmax(self.score(sequence), dim=-1)  # (B, 1, T)
        return (sequence * weights).sum(dim=-1)


SEQUENCE_POOLINGS: dict[str, Callable[[int], nn.Module]] = {
    "mean": MeanPool,
    "max": MaxPool,
    "attention": AttentionPool,
}


class ClassifierHead(nn.Module):
    """Pool over time, then dropout + linear: ``(B, D, T) -> (B, num_classes)``."""

    def __init__(self, dim: int, num_classes: int, pooling: str = "mean", dropout: float = 0.5):
        super().__init__()
        if pooling not in SEQUENCE_POOLINGS:
            raise ValueError(
                f"unknown pooling {pooling!r}; choose from {sorted(SEQUENCE_POOLINGS)}")
        self.pool = SEQUENCE_POOLINGS[pooling](dim)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(dim, num_classes)

    def embed(self, sequence: Tensor) -> Tensor:
        """The pooled embedding ``(B, D)``, before dropout."""
        return self.pool(sequence)

    def classify(self, embedding: Tensor) -> Tensor:
        """``(B, D) -> (B, num_classes)`` logits."""
        return self.linear(self.dropout(embedding))

    def forward(self, sequence: Tensor) -> Tensor:
        return self.classify(self.embed(sequence))


# What the head's outputs mean, by task: one genre per track (a distribution over classes) or
# several tags per track (an independent yes/no per tag).
OUTPUT_ACTIVATIONS: dict[str, Callable[[Tensor], Tensor]] = {
    "single_label": lambda logits: torch.softmax(logits, dim=-1),
    "multi_label": torch.sigmoid,
}


def output_probabilities(logits: Tensor, task: str) -> Tensor:
    """``(batch, classes)`` logits → probabilities: softmax over the classes of a
    single-label model, one sigmoid per tag of a multi-label one."""
    if task not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"unknown task {task!r}; choose one of {sorted(OUTPUT_ACTIVATIONS)}")
    return OUTPUT_ACTIVATIONS[task](logits)
