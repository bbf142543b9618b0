"""Correct: naive loops over samples and classes, each row's max subtracted, mean over the batch."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    N = x.shape[0]
    C = W.shape[1]
    dW = np.zeros_like(W, dtype=np.float64)
    db = np.zeros(C)
    for i in range(N):
        scores = x[i].dot(W) + b
        scores -= np.max(scores)
        p = np.exp(scores) / np.sum(np.exp(scores))
        for j in range(C):
            if j == labels[i]:
                dW[:, j] += (p[j] - 1) * x[i]
                db[j] += p[j] - 1
            else:
                dW[:, j] += p[j] * x[i]
                db[j] += p[j]
    dW /= N
    db /= N
    return dW, db
