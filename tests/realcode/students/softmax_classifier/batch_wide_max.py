"""Wrong (unstable): the batch-wide maximum is subtracted instead of each row's, so a row far below
the batch's largest logit underflows to 0/0 = NaN."""
import numpy as np


def softmax_gradients(x, W, b, labels):
    N = x.shape[0]
    scores = x @ W + b
    scores -= np.max(scores)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    probs[np.arange(N), labels] -= 1
    probs /= N
    return x.T @ probs, probs.sum(axis=0)
