"""Classic mistakes in the linear region of a ReLU network."""

import numpy as np

from reference.linear_region import forward, linear_region


def bias_is_output(weights, biases, x0):
    """b taken as h(x0) instead of h(x0) - W x0."""
    slope, _ = linear_region(weights, biases, x0)
    return slope, forward(weights, biases, x0)


def all_units_active(weights, biases, x0):
    """Every ReLU treated as the identity: the plain product of the affine layers."""
    width = np.asarray(x0).shape[0]
    slope, offset = np.eye(width), np.zeros(width)
    for w, b in zip(weights, biases):
        w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
        slope, offset = w @ slope, w @ offset + b
    return slope, offset
