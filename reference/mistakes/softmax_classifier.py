"""Classic mistakes in softmax and its cross-entropy gradients."""

import numpy as np

from reference.softmax_classifier import softmax


def no_max_subtraction(logits):
    """exp() of raw logits: overflows to inf/inf = nan from about 710 in float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        exps = np.exp(np.asarray(logits, dtype=np.float64))
        return exps / exps.sum(axis=1, keepdims=True)


def _gradients(x, W, b, subtract_at, scale):
    x, W, b = (np.asarray(v, dtype=np.float64) for v in (x, W, b))
    delta = softmax(x @ W + b)
    delta[np.arange(len(delta)), subtract_at(delta)] -= 1.0
    delta *= scale(len(delta))
    return x.T @ delta, delta.sum(axis=0)


def wrong_class_subtracted(x, W, b, labels):
    """1 subtracted at the predicted class instead of the true one."""
    return _gradients(x, W, b, lambda probs: probs.argmax(axis=1), lambda n: 1.0 / n)


def sum_not_mean(x, W, b, labels):
    """The gradient of the summed loss: no division by N."""
    return _gradients(x, W, b, lambda probs: np.asarray(labels), lambda n: 1.0)
