"""The affine map a ReLU network computes in the linear region around a point."""

from __future__ import annotations

import numpy as np


def _check_network(weights, biases, x0) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    x0 = np.asarray(x0, dtype=np.float64)
    if not weights or len(weights) != len(biases):
        raise ValueError(
            f"need one bias per weight matrix and at least one layer, "
            f"got {len(weights)} weights and {len(biases)} biases"
        )
    if x0.ndim != 1:
        raise ValueError(f"x0 must be 1-D, got shape {x0.shape}")
    width = x0.shape[0]
    for index, (w, b) in enumerate(zip(weights, biases)):
        if w.ndim != 2 or w.shape[1] != width:
            raise ValueError(f"layer {index}: weight shape {w.shape} does not take inputs of size {width}")
        if b.shape != (w.shape[0],):
            raise ValueError(f"layer {index}: bias shape {b.shape}, expected ({w.shape[0]},)")
        width = w.shape[0]
    return weights, biases, x0


def forward(weights, biases, x) -> np.ndarray:
    """h(x): ReLU after every layer except the last."""
    weights, biases, x = _check_network(weights, biases, x)
    activation = x
    for w, b in zip(weights[:-1], biases[:-1]):
        activation = np.maximum(w @ activation + b, 0.0)
    return weights[-1] @ activation + biases[-1]


def linear_region(weights, biases, x0) -> tuple[np.ndarray, np.ndarray]:
    """Return (W, b) with W = dh/dx at x0 and W @ x0 + b = h(x0).

    At a kink (a pre-activation exactly 0) the unit counts as inactive, as torch's
    relu'(0) = 0 does.
    """
    # The map is built layer by layer as an affine function of x.
    return _linear_region(weights, biases, x0, kink_active=False)


def _linear_region(weights, biases, x0, kink_active: bool) -> tuple[np.ndarray, np.ndarray]:
    weights, biases, x0 = _check_network(weights, biases, x0)
    slope = np.eye(x0.shape[0])
    offset = np.zeros(x0.shape[0])
    activation = x0
    for w, b in zip(weights[:-1], biases[:-1]):
        pre = w @ activation + b
        active = (pre >= 0 if kink_active else pre > 0).astype(np.float64)
        slope = active[:, None] * (w @ slope)
        offset = active * (w @ offset + b)
        activation = np.maximum(pre, 0.0)
    return weights[-1] @ slope, weights[-1] @ offset + biases[-1]
