"""Wrong: the one-hot is never subtracted: probs[range(N), labels] is a copy, and the copy is what
gets decremented."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    N = x.shape[0]
    scores = x @ W + b
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    dscores = probs
    correct = dscores[range(N), labels]
    correct -= 1
    dscores = dscores / N
    dW = np.dot(x.T, dscores)
    db = np.sum(dscores, axis=0)
    return dW, db
