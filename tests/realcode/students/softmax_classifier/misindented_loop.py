"""Wrong: the gradient update sits after the loop over samples (mis-indented), so only the last
sample's gradient is kept, still divided by N."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    N = x.shape[0]
    dW = np.zeros(W.shape)
    db = np.zeros(b.shape)
    for i in range(N):
        scores = x[i] @ W + b
        scores = scores - np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        dscores = probs.copy()
        dscores[labels[i]] -= 1
    dW += np.outer(x[i], dscores)
    db += dscores
    return dW / N, db / N
