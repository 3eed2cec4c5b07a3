"""Per-channel energy normalisation with learnable parameters (sPCEN, as in LEAF).

PCEN (Wang et al. 2017) replaces the log: each band is divided by a smoothed version of itself
(automatic gain control), then root-compressed:

    pcen(E) = (E / (floor + M)^alpha + delta)^(1/r) - delta^(1/r),
    M[t] = (1 - s) M[t-1] + s E[t],  M[0] = E[0].

LEAF learns ``alpha, delta, r, s`` per channel. The smoother ``M`` is a first-order IIR
filter; a Python loop over frames would be hundreds of tiny kernels per batch, so
:func:`exponential_moving_average` evaluates it exactly as a chunked scan: inside a chunk of
``L`` frames it is one batched matrix product with the ``L x L`` lower-triangular kernel
``s (1 - s)^(j - k)``, and only the state carried between chunks is sequential.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn


def exponential_moving_average(energy: Tensor, coef: Tensor, chunk: int = 128) -> Tensor:
    """``M[t] = (1 - s) M[t-1] + s E[t]`` with ``M[0] = E[0]``, per channel.

    Args:
        energy: ``(batch, channels, frames)``.
        coef: smoothing coefficients ``s`` in ``(0, 1]``, ``(channels,)``.
        chunk: frames per matrix product; memory grows as ``channels * chunk^2``.

    Returns:
        ``(batch, channels, frames)``, differentiable w.r.t. both inputs.
    """
    frames = energy.shape[-1]
    length = min(chunk, frames)
    log_decay = torch.log1p(-coef.clamp(max=1 - 1e-6)).view(-1, 1, 1)  # (C, 1, 1)
    index = torch.arange(length, device=energy.device, dtype=energy.dtype)
    lag = index.view(-1, 1) - index.view(1, -1)  # (L, L): j - k
    causal = lag >= 0
    kernel = coef.view(-1, 1, 1) * torch.exp(lag.clamp(min=0) * log_decay) * causal  # (C, L, L)
    carry = torch.exp((index + 1) * log_decay.squeeze(-1))  # (C, L): weight of the old state
    state = energy[..., 0]
    outputs = []
    for start in range(0, frames, length):
        block = energy[..., start : start + length]
        size = block.shape[-1]
        smooth = torch.einsum("bck,cjk->bcj", block, kernel[:, :size, :size])
        smooth = smooth + state.unsqueeze(-1) * carry[:, :size]
        outputs.append(smooth)
        state = smooth[..., -1]
    return torch.cat(outputs, dim=-1)


class PCEN(nn.Module):
    """sPCEN with per-channel learnable ``alpha, delta, r, s``; shape-preserving.

    Constraints applied on every call: ``alpha in [0, 1]``, ``delta >= 1e-3``, ``r >= 1`` and
    ``s in [1e-3, 1]``, so the compression stays monotone, its gradient bounded at zero
    energy, and the smoother stable.
    """

    def __init__(
        self,
        num_channels: int,
        alpha: float = 0.96,
        delta: float = 2.0,
        root: float = 2.0,
        smooth_coef: float = 0.04,
        floor: float = 1e-12,
        chunk: int = 128,
    ) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.full((num_channels,), alpha))
        self.delta = nn.Parameter(torch.full((num_channels,), delta))
        self.root = nn.Parameter(torch.full((num_channels,), root))
        self.smooth_coef = nn.Parameter(torch.full((num_channels,), smooth_coef))
        self.floor = floor
        self.chunk = chunk

    def forward(self, energy: Tensor) -> Tensor:
        """``(batch, channels, frames)`` of non-negative energies -> same shape."""
        # per-channel constants broadcast over frames: (channels,) -> (channels, 1)
        alpha = rearrange(self.alpha.clamp(0.0, 1.0), "channels -> channels 1")
        delta = rearrange(self.delta.clamp(min=1e-3), "channels -> channels 1")
        inv_root = 1.0 / rearrange(self.root.clamp(min=1.0), "channels -> channels 1")
        smooth = exponential_moving_average(
            energy, self.smooth_coef.clamp(1e-3, 1.0), chunk=self.chunk
        )
        gain = torch.exp(-alpha * torch.log(self.floor + smooth))
        return (energy * gain + delta) ** inv_root - delta**inv_root
