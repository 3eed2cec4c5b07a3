"""The first convolution of a 2D backbone, with an input gradient that costs what its forward does.

A learnable front-end needs the gradient of the loss with respect to the spectrogram the
backbone reads, ``(batch, 1, bands, frames)``: the backward of a convolution from one channel
to many. On CPU, oneDNN computes that as a convolution from many channels to one, and its
kernels for a single output channel are slow: alone, for the grid's short-chunk CNN (1 -> 48
channels, 3x3, a batch of 32 maps of 84 x 63), 32 ms against 4 ms for the forward, where the
fixed mel, which needs no such gradient, pays nothing. The same gradient is the adjoint of
``weight @ unfold(x)``: one ``(kernel taps, channels) @ (channels, positions)`` product and a
``fold`` (summing every tap's plane back into place), 7 ms alone. In the training step the
gain is smaller, 4-8 ms a step for every learnable 2D cell of the grid (README, "Speed").
Values equal the convolution's up to float rounding (``tests/test_backbones_model.py``
compares output and gradients with ``nn.Conv2d``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class _UnfoldAdjointConv(torch.autograd.Function):
    """``conv2d`` of a one-channel input whose input gradient is ``fold(weight^T @ grad)``."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor | None,
                stride: tuple[int, int], padding: tuple[int, int]) -> Tensor:
        ctx.save_for_backward(x, weight)
        ctx.stride, ctx.padding, ctx.has_bias = stride, padding, bias is not None
        return F.conv2d(x, weight, bias, stride=stride, padding=padding)

    @staticmethod
    def backward(ctx, grad: Tensor):
        x, weight = ctx.saved_tensors
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # (batch, taps, positions): each kernel tap's share of every output position
            columns = weight.flatten(1).t().to(grad.dtype) @ grad.flatten(2)
            grad_x = F.fold(columns, x.shape[-2:], weight.shape[-2:], padding=ctx.padding,
                            stride=ctx.stride).to(x.dtype)
        if ctx.needs_input_grad[1]:
            grad_weight = torch.nn.grad.conv2d_weight(
                x.to(grad.dtype), weight.shape, grad, stride=ctx.stride, padding=ctx.padding
            ).to(weight.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=(0, 2, 3))
        return grad_x, grad_weight, grad_bias, None, None


class InputConv2d(nn.Conv2d):
    """``nn.Conv2d`` (same parameters and checkpoints) for a backbone's one-channel input.

    Where the input needs a gradient, on CPU, and the convolution is a plain one (one input
    channel, no groups or dilation, zero padding given as numbers), the input gradient is
    computed as the adjoint of an unfold; anywhere else it is ``nn.Conv2d`` itself.
    """

    def forward(self, x: Tensor) -> Tensor:
        plain = (self.in_channels == 1 and self.groups == 1 and self.dilation == (1, 1)
                 and self.padding_mode == "zeros" and not isinstance(self.padding, str))
        if plain and x.requires_grad and x.device.type == "cpu":
            return _UnfoldAdjointConv.apply(x, self.weight, self.bias, self.stride, self.padding)
        return super().forward(x)
