"""Softmax, mean cross-entropy and the gradients of a one-layer softmax classifier."""

from __future__ import annotations

import numpy as np


def _labels(labels, count: int, classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (count,) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be {count} integers, got {labels.dtype} of shape {labels.shape}")
    if count and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"labels must lie in [0, {classes}), got range [{labels.min()}, {labels.max()}]")
    return labels


def softmax(logits) -> np.ndarray:
    """Row-wise softmax of an (N, C) array."""
    # Subtracting the row max keeps exp() finite.
    logits = np.asarray(logits, dtype=np.float64)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (N, C), got shape {logits.shape}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    return exps / exps.sum(axis=1, keepdims=True)


def cross_entropy(probs, labels) -> float:
    """Mean over the batch of -log p[label]."""
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[0] == 0:
        raise ValueError(f"probs must be a non-empty (N, C) array, got shape {probs.shape}")
    labels = _labels(labels, probs.shape[0], probs.shape[1])
    with np.errstate(divide="ignore"):
        return float(-np.mean(np.log(probs[np.arange(probs.shape[0]), labels])))


def softmax_gradients(x, W, b, labels) -> tuple[np.ndarray, np.ndarray]:
    """Gradients (dW, db) of the mean cross-entropy of softmax(x @ W + b) with respect to W and b."""
    # dL/dlogits = (p - onehot(y)) / N, then the chain rule through x @ W + b.
    x = np.asarray(x, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if x.ndim != 2 or W.ndim != 2 or x.shape[1] != W.shape[0] or b.shape != (W.shape[1],):
        raise ValueError(f"shapes do not chain: x {x.shape}, W {W.shape}, b {b.shape}")
    if x.shape[0] == 0:
        raise ValueError("the batch is empty")
    count = x.shape[0]
    labels = _labels(labels, count, W.shape[1])
    delta = softmax(x @ W + b)
    delta[np.arange(count), labels] -= 1.0
    delta /= count
    return x.T @ delta, delta.sum(axis=0)
