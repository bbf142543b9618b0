"""Wrong: the true-class term is subtracted inside the loop over classes, so C times per sample."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    N, D = x.shape
    C = W.shape[1]
    dW = np.zeros((D, C))
    db = np.zeros(C)
    for i in range(N):
        f = x[i] @ W + b
        f -= np.max(f)
        p = np.exp(f) / np.sum(np.exp(f))
        for j in range(C):
            dW[:, j] += p[j] * x[i]
            db[j] += p[j]
            dW[:, labels[i]] -= x[i]
            db[labels[i]] -= 1
    return dW / N, db / N
