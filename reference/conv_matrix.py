"""A 2-D deep-learning convolution (cross-correlation, zero padding) written as a matrix."""

from __future__ import annotations

import numpy as np


def output_size(n: int, k: int, stride: int, padding: int) -> int:
    """Output length along one axis: floor((n + 2p - k) / s) + 1."""
    return (n + 2 * padding - k) // stride + 1


def _check_args(kernel: np.ndarray, input_shape, stride, padding) -> tuple[int, int]:
    if kernel.ndim != 2 or 0 in kernel.shape:
        raise ValueError(f"kernel must be a non-empty 2-D array, got shape {kernel.shape}")
    if len(input_shape) != 2:
        raise ValueError(f"input_shape must be (H, W), got {input_shape!r}")
    height, width = (int(v) for v in input_shape)
    if height < 1 or width < 1:
        raise ValueError(f"input_shape must be positive, got {input_shape!r}")
    if int(stride) != stride or stride < 1:
        raise ValueError(f"stride must be a positive integer, got {stride!r}")
    if int(padding) != padding or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    return height, width


def conv_as_matrix(kernel, input_shape, stride: int = 1, padding: int = 0) -> np.ndarray:
    """Return A of shape (Ho*Wo, H*W) with A @ X.reshape(-1) == conv(X).reshape(-1), where conv is
    the deep-learning convolution (cross-correlation) of X with `kernel`, at `stride`, with `padding`
    zeros on every side."""
    # Output pixel (i, j) reads padded input (i*s + u, j*s + v) for kernel tap (u, v);
    # taps that land on padding read zero and so contribute no column.
    kernel = np.asarray(kernel, dtype=np.float64)
    height, width = _check_args(kernel, input_shape, stride, padding)
    stride, padding = int(stride), int(padding)
    kh, kw = kernel.shape
    out_h = output_size(height, kh, stride, padding)
    out_w = output_size(width, kw, stride, padding)
    if out_h < 1 or out_w < 1:
        raise ValueError(
            f"kernel {kernel.shape} does not fit input {tuple(input_shape)} "
            f"with padding {padding}: the output would be empty"
        )

    # Broadcast over (output row, output col, kernel row, kernel col).
    oi = np.arange(out_h)[:, None, None, None]
    oj = np.arange(out_w)[None, :, None, None]
    ku = np.arange(kh)[None, None, :, None]
    kv = np.arange(kw)[None, None, None, :]
    rows = oi * stride - padding + ku
    cols = oj * stride - padding + kv
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)

    shape = (out_h, out_w, kh, kw)
    out_index = np.broadcast_to(oi * out_w + oj, shape)[inside]
    in_index = (rows * width + cols)[inside]
    taps = np.broadcast_to(kernel[None, None], shape)[inside]

    matrix = np.zeros((out_h * out_w, height * width), dtype=np.float64)
    # Each (output, input) pair is hit by at most one tap, so plain assignment is exact.
    matrix[out_index, in_index] = taps
    return matrix
