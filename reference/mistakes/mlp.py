"""Classic mistakes in the two-layer perceptron.

A mistake made in mlp_forward reaches mlp_backward through the cache, since the
student's backward pass always receives the student's own forward's cache. Its
backward mutant is therefore the right backward pass of the wrong forward.
"""

import numpy as np

from reference.mistakes.softmax_classifier import no_max_subtraction as _unshifted_softmax
from reference.mistakes.softmax_classifier import softmax_over_batch as _softmax_over_batch
from reference.mlp import _check_params, mlp_backward


def tanh_derivative_of_preactivation(params, cache, Y):
    """tanh' written as 1 - htilde**2 instead of 1 - h**2."""
    Wy = np.asarray(params["Wy"], dtype=np.float64)
    X, htilde, h, yhat = cache["X"], cache["htilde"], cache["h"], cache["yhat"]
    delta_y = (yhat - np.asarray(Y, dtype=np.float64)) / X.shape[0]
    delta_h = (delta_y @ Wy) * (1.0 - htilde**2)
    return {"Wh": delta_h.T @ X, "bh": delta_h.sum(axis=0), "Wy": delta_y.T @ h, "by": delta_y.sum(axis=0)}


def sigmoid_derivative(params, cache, Y):
    """The hidden layer differentiated as a sigmoid, h * (1 - h), instead of as tanh, 1 - h**2."""
    Wy = np.asarray(params["Wy"], dtype=np.float64)
    X, h, yhat = cache["X"], cache["h"], cache["yhat"]
    delta_y = (yhat - np.asarray(Y, dtype=np.float64)) / X.shape[0]
    delta_h = (delta_y @ Wy) * (h * (1.0 - h))
    return {"Wh": delta_h.T @ X, "bh": delta_h.sum(axis=0), "Wy": delta_y.T @ h, "by": delta_y.sum(axis=0)}


def sum_not_mean(params, cache, Y):
    """The gradients of the summed loss, as one course's formula sheet writes them: no 1/N."""
    count = cache["X"].shape[0]
    return {key: count * value for key, value in mlp_backward(params, cache, Y).items()}


def _forward(params, X, probabilities):
    p = _check_params(params)
    X = np.asarray(X, dtype=np.float64)
    htilde = X @ p["Wh"].T + p["bh"]
    h = np.tanh(htilde)
    ytilde = h @ p["Wy"].T + p["by"]
    with np.errstate(all="ignore"):
        yhat = probabilities(ytilde)
    return yhat, {"X": X, "htilde": htilde, "h": h, "ytilde": ytilde, "yhat": yhat}


def _unshifted_softmax_over_batch(ytilde):
    exps = np.exp(ytilde)
    return exps / exps.sum(axis=0, keepdims=True)


def softmax_over_batch(params, X):
    """Each column normalised over the batch (axis 0) instead of each row over the classes."""
    return _forward(params, X, _softmax_over_batch)


def softmax_over_batch_backward(params, cache, Y):
    """The right backward pass, fed the cache of softmax_over_batch's forward."""
    with np.errstate(all="ignore"):
        return mlp_backward(params, softmax_over_batch(params, cache["X"])[1], Y)


def no_max_subtraction(params, X):
    """exp() of the raw output logits: nan once a logit passes about 710."""
    return _forward(params, X, _unshifted_softmax)


def no_max_subtraction_backward(params, cache, Y):
    """The right backward pass, fed the cache of no_max_subtraction's forward: nan where it is."""
    with np.errstate(all="ignore"):
        return mlp_backward(params, no_max_subtraction(params, cache["X"])[1], Y)


def unshifted_softmax_over_batch(params, X):
    """Both at once, as `np.exp(z) / np.exp(z).sum(axis=0)`: over the batch and overflowing."""
    return _forward(params, X, _unshifted_softmax_over_batch)


def unshifted_softmax_over_batch_backward(params, cache, Y):
    with np.errstate(all="ignore"):
        return mlp_backward(params, unshifted_softmax_over_batch(params, cache["X"])[1], Y)
