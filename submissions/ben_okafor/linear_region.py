"""Q2 - local affine map of a ReLU net (Ben Okafor)."""
import numpy as np


def _forward(weights, biases, x):
    a = x
    for Wl, bl in zip(weights[:-1], biases[:-1]):
        a = np.maximum(Wl @ a + bl, 0)
    return weights[-1] @ a + biases[-1]


def linear_region(weights, biases, x0):
    weights = [np.asarray(w, dtype=np.float64) for w in weights]
    biases = [np.asarray(b, dtype=np.float64) for b in biases]
    x0 = np.asarray(x0, dtype=np.float64)

    # Jacobian by the chain rule: J = W_L D_{L-1} W_{L-1} ... D_1 W_1
    J = np.eye(len(x0))
    a = x0
    for Wl, bl in zip(weights[:-1], biases[:-1]):
        z = Wl @ a + bl
        on = z > 0                      # relu'(0) taken as 0
        J = (Wl @ J) * on[:, None]
        a = np.where(on, z, 0.0)
    J = weights[-1] @ J

    b = _forward(weights, biases, x0) - J @ x0
    return J.astype(np.float32), b.astype(np.float32)
