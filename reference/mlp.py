"""A two-layer perceptron: tanh hidden layer, softmax output, mean cross-entropy."""

from __future__ import annotations

import numpy as np

from reference.softmax_classifier import softmax

PARAM_KEYS = ("Wh", "bh", "Wy", "by")


def _check_params(params) -> dict[str, np.ndarray]:
    missing = [key for key in PARAM_KEYS if key not in params]
    if missing:
        raise ValueError(f"params is missing {missing}")
    p = {key: np.asarray(params[key], dtype=np.float64) for key in PARAM_KEYS}
    hidden, outputs = p["Wh"].shape[0], p["Wy"].shape[0]
    if p["Wh"].ndim != 2 or p["Wy"].shape != (outputs, hidden) or p["Wy"].ndim != 2:
        raise ValueError(f"Wh {p['Wh'].shape} and Wy {p['Wy'].shape} do not chain as (nh, nx), (ny, nh)")
    if p["bh"].shape != (hidden,) or p["by"].shape != (outputs,):
        raise ValueError(f"bias shapes bh {p['bh'].shape}, by {p['by'].shape} do not match ({hidden},), ({outputs},)")
    return p


def mlp_forward(params, X) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Return (yhat, cache) for X of shape (N, nx); cache holds what backward needs."""
    p = _check_params(params)
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != p["Wh"].shape[1]:
        raise ValueError(f"X must be (N, {p['Wh'].shape[1]}), got shape {X.shape}")
    htilde = X @ p["Wh"].T + p["bh"]
    h = np.tanh(htilde)
    ytilde = h @ p["Wy"].T + p["by"]
    yhat = softmax(ytilde)
    return yhat, {"X": X, "htilde": htilde, "h": h, "ytilde": ytilde, "yhat": yhat}


def mlp_backward(params, cache, Y) -> dict[str, np.ndarray]:
    """Gradients of the mean cross-entropy with respect to each parameter."""
    # delta_y = (yhat - Y) / N; tanh' is written with the activation h, not htilde.
    p = _check_params(params)
    X, h, yhat = cache["X"], cache["h"], cache["yhat"]
    Y = np.asarray(Y, dtype=np.float64)
    if Y.shape != yhat.shape:
        raise ValueError(f"Y must be one-hot of shape {yhat.shape}, got {Y.shape}")
    delta_y = (yhat - Y) / X.shape[0]
    delta_h = (delta_y @ p["Wy"]) * (1.0 - h**2)
    return {
        "Wh": delta_h.T @ X,
        "bh": delta_h.sum(axis=0),
        "Wy": delta_y.T @ h,
        "by": delta_y.sum(axis=0),
    }
