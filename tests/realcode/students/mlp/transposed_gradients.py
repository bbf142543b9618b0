"""Wrong: the weight gradients follow the (in, out) convention, h^T delta and X^T delta, so they come
back transposed: (nh, ny) and (nx, nh) instead of Wy's (ny, nh) and Wh's (nh, nx)."""
import numpy as np


def mlp_forward(params, X):
    htilde = X @ params["Wh"].T + params["bh"]
    h = np.tanh(htilde)
    ytilde = h @ params["Wy"].T + params["by"]
    e = np.exp(ytilde - ytilde.max(axis=1, keepdims=True))
    yhat = e / e.sum(axis=1, keepdims=True)
    return yhat, {"X": X, "h": h, "yhat": yhat}


def mlp_backward(params, cache, Y):
    N = Y.shape[0]
    delta_y = (cache["yhat"] - Y) / N
    delta_h = delta_y @ params["Wy"] * (1 - cache["h"] ** 2)
    return {"Wy": cache["h"].T @ delta_y, "by": delta_y.sum(axis=0),
            "Wh": cache["X"].T @ delta_h, "bh": delta_h.sum(axis=0)}
