"""Wrong: the textbook doubly block Toeplitz matrix: true (flipped) convolution at full size,
(H + kh - 1) x (W + kw - 1) outputs, stride and padding ignored."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    k = np.array(kernel, dtype=float)
    kh, kw = k.shape
    H, W = input_shape
    Ho, Wo = H + kh - 1, W + kw - 1
    A = np.zeros((Ho * Wo, H * W))
    for r in range(H):
        for c in range(W):
            for u in range(kh):
                for v in range(kw):
                    A[(r + u) * Wo + (c + v), r * W + c] = k[u, v]
    return A
