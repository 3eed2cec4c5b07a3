"""Non-negative, support-keeping parametrisation of a trainable filterbank matrix.

nnAudio registers its mel matrix ``(n_mels, n_freq)`` as a free parameter. That matrix is
97 % zeros with in-band weights near 3e-3, and Adam moves every entry by about the learning
rate per step whatever its size: after a few hundred steps most weights are negative, most
band energies sit at the log floor and a third of the bands are dead (zero gradient for good).

Here the matrix is ``exp(θ)`` on its initial support and exactly 0 off it, with θ initialised
at the log of the initial weights. An Adam step on θ is then a *relative* step on the weight
(``lr = 1e-3`` changes a weight by about 0.1 %, whatever its size), weights can never turn
negative, and a band can widen or reshape within its triangle but never leak across the
spectrum or die. The module plugs into ``torch.nn.utils.parametrize``, so nnAudio's own
layer keeps computing the STFT and the product.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

# The log of a weight that is 0 on the support (an edge of a triangle) would be -inf; such
# weights start this small instead, i.e. effectively 0, and may grow from there.
_SMALLEST_WEIGHT = 1e-12


class PositiveOnSupport(nn.Module):
    """``θ (rows, cols) -> exp(θ) · support``: the parametrisation described above."""

    def __init__(self, initial: Tensor) -> None:
        super().__init__()
        self.register_buffer("support", initial > 0)

    def forward(self, log_weight: Tensor) -> Tensor:
        return torch.where(self.support, log_weight.exp(), torch.zeros_like(log_weight))

    def right_inverse(self, weight: Tensor) -> Tensor:
        """θ for a given matrix: what ``register_parametrization`` initialises θ with."""
        return weight.clamp_min(_SMALLEST_WEIGHT).log()


def make_positive_on_support(module: nn.Module, name: str) -> nn.Module:
    """Re-parametrise ``module.<name>`` (a trainable non-negative matrix) in place."""
    initial = getattr(module, name).detach()
    parametrize.register_parametrization(module, name, PositiveOnSupport(initial))
    return module


def effective_parameters(module: nn.Module) -> dict[str, Tensor]:
    """Trainable tensors of ``module`` as the computation uses them: a parametrised tensor
    by its own name (``mel_basis``, its weights), not as its unconstrained original (θ)."""
    learned = {name: parameter.detach().clone()
               for name, parameter in module.named_parameters()
               if parameter.requires_grad and "parametrizations." not in name}
    for prefix, owner in module.named_modules():
        if parametrize.is_parametrized(owner):
            for tensor in owner.parametrizations:
                learned[f"{prefix}.{tensor}".lstrip(".")] = getattr(owner, tensor).detach()
    return learned
