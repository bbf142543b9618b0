"""Q4 - tanh MLP with softmax output (Ben Okafor)."""
import numpy as np


def mlp_forward(params, X):
    X = np.asarray(X, dtype=np.float64)
    Wh, bh = np.asarray(params["Wh"], np.float64), np.asarray(params["bh"], np.float64)
    Wy, by = np.asarray(params["Wy"], np.float64), np.asarray(params["by"], np.float64)
    h = np.tanh(X @ Wh.T + bh)
    s = h @ Wy.T + by
    s -= s.max(1, keepdims=True)
    yhat = np.exp(s)
    yhat /= yhat.sum(1, keepdims=True)
    return yhat.astype(np.float32), (X, h, yhat)


def mlp_backward(params, cache, Y):
    X, h, yhat = cache
    Wy = np.asarray(params["Wy"], np.float64)
    Y = np.asarray(Y, np.float64)
    gy = (yhat - Y) / len(X)
    gh = (gy @ Wy) * (1.0 - h * h)
    out = {"Wy": gy.T @ h, "by": gy.sum(0), "Wh": gh.T @ X, "bh": gh.sum(0)}
    return {k: v.astype(np.float32) for k, v in out.items()}
