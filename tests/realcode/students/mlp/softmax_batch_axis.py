"""Wrong: the softmax normalises over the batch axis (axis=0) instead of over each row's classes."""
import numpy as np


def mlp_forward(params, X):
    htilde = X @ params["Wh"].T + params["bh"]
    h = np.tanh(htilde)
    ytilde = h @ params["Wy"].T + params["by"]
    e = np.exp(ytilde - np.max(ytilde, axis=0))
    yhat = e / np.sum(e, axis=0)
    return yhat, {"X": X, "h": h, "yhat": yhat}


def mlp_backward(params, cache, Y):
    N = Y.shape[0]
    delta_y = (cache["yhat"] - Y) / N
    delta_h = delta_y @ params["Wy"] * (1 - cache["h"] ** 2)
    return {"Wy": delta_y.T @ cache["h"], "by": delta_y.sum(axis=0),
            "Wh": delta_h.T @ cache["X"], "bh": delta_h.sum(axis=0)}
