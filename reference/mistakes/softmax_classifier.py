"""Classic mistakes in softmax and its cross-entropy gradients."""

import numpy as np

from reference.softmax_classifier import softmax


def no_max_subtraction(logits):
    """exp() of raw logits: overflows to inf/inf = nan from about 710 in float64."""
    with np.errstate(over="ignore", invalid="ignore"):
        exps = np.exp(np.asarray(logits, dtype=np.float64))
        return exps / exps.sum(axis=1, keepdims=True)


def batch_max_subtraction(logits):
    """The batch's largest logit subtracted from every row: a row far below it underflows to 0/0 = nan."""
    logits = np.asarray(logits, dtype=np.float64)
    with np.errstate(under="ignore", invalid="ignore"):
        exps = np.exp(logits - logits.max())
        return exps / exps.sum(axis=1, keepdims=True)


def softmax_over_batch(logits):
    """Each column normalised over the batch (axis 0) instead of each row over the classes."""
    logits = np.asarray(logits, dtype=np.float64)
    with np.errstate(under="ignore"):
        exps = np.exp(logits - logits.max(axis=0, keepdims=True))
        return exps / exps.sum(axis=0, keepdims=True)


def _gradients(x, W, b, subtract_at, scale, probabilities=softmax):
    x, W, b = (np.asarray(v, dtype=np.float64) for v in (x, W, b))
    delta = probabilities(x @ W + b)
    delta[np.arange(len(delta)), subtract_at(delta)] -= 1.0
    delta *= scale(len(delta))
    with np.errstate(invalid="ignore"):  # nan probabilities stay nan in the products
        return x.T @ delta, delta.sum(axis=0)


def wrong_class_subtracted(x, W, b, labels):
    """1 subtracted at the predicted class instead of the true one."""
    return _gradients(x, W, b, lambda probs: probs.argmax(axis=1), lambda n: 1.0 / n)


def sum_not_mean(x, W, b, labels):
    """The gradient of the summed loss: no division by N."""
    return _gradients(x, W, b, lambda probs: np.asarray(labels), lambda n: 1.0)


def gradients_without_max_subtraction(x, W, b, labels):
    """Right formula, softmax of the raw logits: nan from logits of about 710."""
    return _gradients(x, W, b, lambda probs: np.asarray(labels), lambda n: 1.0 / n, no_max_subtraction)


def gradients_with_batch_max(x, W, b, labels):
    """Right formula, softmax shifted by the batch's largest logit: nan in rows far below it."""
    return _gradients(x, W, b, lambda probs: np.asarray(labels), lambda n: 1.0 / n, batch_max_subtraction)


def gradients_softmax_over_batch(x, W, b, labels):
    """Right formula, softmax taken over the batch axis."""
    return _gradients(x, W, b, lambda probs: np.asarray(labels), lambda n: 1.0 / n, softmax_over_batch)


def onehot_not_subtracted(x, W, b, labels):
    """The 1 subtracted from a copy (`correct = probs[range(N), labels]; correct -= 1`): p alone, over N."""
    x, W, b = (np.asarray(v, dtype=np.float64) for v in (x, W, b))
    delta = softmax(x @ W + b) / len(x)
    return x.T @ delta, delta.sum(axis=0)


def true_class_in_class_loop(x, W, b, labels):
    """The true-class term subtracted inside the loop over classes: C times per sample."""
    x, W, b = (np.asarray(v, dtype=np.float64) for v in (x, W, b))
    delta = softmax(x @ W + b)
    delta[np.arange(len(delta)), np.asarray(labels)] -= W.shape[1]
    delta /= len(delta)
    return x.T @ delta, delta.sum(axis=0)


def last_sample_only(x, W, b, labels):
    """The update after the loop over samples: only the last sample's gradient, still over N."""
    x, W, b = (np.asarray(v, dtype=np.float64) for v in (x, W, b))
    count = len(x)
    delta = softmax(x[-1:] @ W + b)
    delta[0, np.asarray(labels)[-1]] -= 1.0
    delta /= count
    return x[-1:].T @ delta, delta.sum(axis=0)
