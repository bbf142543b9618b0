"""Classic mistakes in backpropagation through a tanh layer."""

import numpy as np


def tanh_derivative_of_preactivation(params, cache, Y):
    """tanh' written as 1 - htilde**2 instead of 1 - h**2."""
    Wy = np.asarray(params["Wy"], dtype=np.float64)
    X, htilde, h, yhat = cache["X"], cache["htilde"], cache["h"], cache["yhat"]
    delta_y = (yhat - np.asarray(Y, dtype=np.float64)) / X.shape[0]
    delta_h = (delta_y @ Wy) * (1.0 - htilde**2)
    return {"Wh": delta_h.T @ X, "bh": delta_h.sum(axis=0), "Wy": delta_y.T @ h, "by": delta_y.sum(axis=0)}
