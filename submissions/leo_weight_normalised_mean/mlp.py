# Question 4: a two-layer perceptron
import numpy as np


def _softmax_rows(z):
    z = z - np.max(z, axis=1, keepdims=True)
    e = np.exp(z)
    return e / np.sum(e, axis=1, keepdims=True)


def mlp_forward(params, X):
    X = np.array(X, dtype=np.float64)
    Wh = np.array(params["Wh"], dtype=np.float64)
    bh = np.array(params["bh"], dtype=np.float64)
    Wy = np.array(params["Wy"], dtype=np.float64)
    by = np.array(params["by"], dtype=np.float64)

    htilde = X @ Wh.T + bh
    h = np.tanh(htilde)
    ytilde = h @ Wy.T + by
    yhat = _softmax_rows(ytilde)

    cache = {"X": X, "htilde": htilde, "h": h, "yhat": yhat}
    return yhat, cache


def mlp_backward(params, cache, Y):
    Wy = np.array(params["Wy"], dtype=np.float64)
    X = cache["X"]
    htilde = cache["htilde"]
    h = cache["h"]
    yhat = cache["yhat"]
    Y = np.array(Y, dtype=np.float64)
    N = X.shape[0]

    dy = (yhat - Y) / N                 # dL/dytilde
    dh = dy @ Wy                        # dL/dh
    dhtilde = dh * (1 - h ** 2)         # tanh'(htilde) = 1 - tanh(htilde)^2

    grads = {}
    grads["Wy"] = dy.T @ h
    grads["by"] = np.sum(dy, axis=0)
    grads["Wh"] = dhtilde.T @ X
    grads["bh"] = np.sum(dhtilde, axis=0)
    return grads
