"""Central differences, the course tests' own way of checking a gradient (h = 1e-5)."""

import numpy as np


def central_difference(loss, array: np.ndarray, step: float = 1e-5) -> np.ndarray:
    """d loss / d array, perturbing each entry of `array` in place and restoring it."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        saved = array[index]
        array[index] = saved + step
        plus = loss()
        array[index] = saved - step
        minus = loss()
        array[index] = saved
        grad[index] = (plus - minus) / (2 * step)
    return grad
