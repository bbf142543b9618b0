"""Wrong: the gradient of the summed loss, never divided by N."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    scores = x @ W + b
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    y = np.zeros_like(p)
    y[np.arange(len(labels)), labels] = 1
    dz = p - y
    return x.T @ dz, dz.sum(axis=0)
