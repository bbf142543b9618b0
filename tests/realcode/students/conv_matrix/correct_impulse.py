"""Correct: column k of A is the convolution of the k-th unit image, computed on a padded copy."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (W + 2 * padding - kw) // stride + 1
    A = np.zeros((Ho * Wo, H * W))
    for k in range(H * W):
        x = np.zeros(H * W)
        x[k] = 1.0
        xp = np.pad(x.reshape(H, W), padding)
        out = np.zeros((Ho, Wo))
        for i in range(Ho):
            for j in range(Wo):
                patch = xp[i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[i, j] = np.sum(patch * kernel)
        A[:, k] = out.reshape(-1)
    return A
