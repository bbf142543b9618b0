"""Correct: the matrix is built over the padded image, then the padding's columns are dropped."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kh, kw = np.shape(kernel)
    H, W = input_shape
    Hp, Wp = H + 2 * padding, W + 2 * padding
    Ho = (Hp - kh) // stride + 1
    Wo = (Wp - kw) // stride + 1
    A_pad = np.zeros((Ho * Wo, Hp * Wp))
    for i in range(Ho):
        for j in range(Wo):
            row = np.zeros((Hp, Wp))
            row[i * stride:i * stride + kh, j * stride:j * stride + kw] = kernel
            A_pad[i * Wo + j] = row.ravel()
    keep = np.zeros((Hp, Wp), dtype=bool)
    keep[padding:padding + H, padding:padding + W] = True
    return A_pad[:, keep.ravel()]
