"""Correct: backward accumulated one sample at a time, then divided by N."""
import numpy as np


def mlp_forward(params, X):
    Wh, bh, Wy, by = params["Wh"], params["bh"], params["Wy"], params["by"]
    htilde = np.dot(X, Wh.T) + bh
    h = np.tanh(htilde)
    ytilde = np.dot(h, Wy.T) + by
    ytilde = ytilde - np.max(ytilde, axis=1, keepdims=True)
    yhat = np.exp(ytilde) / np.sum(np.exp(ytilde), axis=1, keepdims=True)
    return yhat, (X, h, yhat)


def mlp_backward(params, cache, Y):
    X, h, yhat = cache
    N = X.shape[0]
    grads = {k: np.zeros_like(v, dtype=np.float64) for k, v in params.items()}
    for i in range(N):
        dy = yhat[i] - Y[i]
        grads["Wy"] += np.outer(dy, h[i])
        grads["by"] += dy
        dh = params["Wy"].T.dot(dy) * (1 - h[i] ** 2)
        grads["Wh"] += np.outer(dh, X[i])
        grads["bh"] += dh
    for k in grads:
        grads[k] /= N
    return grads
