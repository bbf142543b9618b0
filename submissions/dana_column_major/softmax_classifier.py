# Question 3: softmax classifier
import numpy as np


def softmax(logits):
    logits = np.array(logits, dtype=np.float64)
    N, C = logits.shape
    out = np.zeros((N, C), dtype=np.float64)
    for n in range(N):
        m = np.max(logits[n])          # subtract the max so exp never overflows
        e = np.exp(logits[n] - m)
        out[n] = e / np.sum(e)
    return out


def cross_entropy(probs, labels):
    probs = np.array(probs, dtype=np.float64)
    N = probs.shape[0]
    total = 0.0
    for n in range(N):
        total += -np.log(probs[n, int(labels[n])])
    return float(total / N)


def softmax_gradients(x, W, b, labels):
    x = np.array(x, dtype=np.float64)
    W = np.array(W, dtype=np.float64)
    b = np.array(b, dtype=np.float64)
    N = x.shape[0]

    p = softmax(x @ W + b)
    # dL/dz for the mean loss: (p - onehot) / N
    dz = p.copy()
    for n in range(N):
        dz[n, int(labels[n])] -= 1.0
    dz = dz / N

    dW = x.T @ dz
    db = np.sum(dz, axis=0)
    return dW, db
