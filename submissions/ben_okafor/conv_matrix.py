"""Q1 - convolution written as a matrix (Ben Okafor).

Idea: build the im2col index table of the padded image, then drop the taps
that fall on the zero padding and scatter the kernel values into A.
"""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    k = np.asarray(kernel, dtype=np.float64)
    kh, kw = k.shape
    H, W = input_shape
    Hp, Wp = H + 2 * padding, W + 2 * padding
    Ho = (Hp - kh) // stride + 1
    Wo = (Wp - kw) // stride + 1

    # index of every pixel of the padded image in the *unpadded* flat vector (-1 = padding)
    idx = -np.ones((Hp, Wp), dtype=np.int64)
    idx[padding:padding + H, padding:padding + W] = np.arange(H * W).reshape(H, W)

    # im2col: patch rows for each output pixel, one column per kernel tap
    r = (np.arange(Ho) * stride)[:, None] + np.arange(kh)[None, :]   # (Ho, kh)
    c = (np.arange(Wo) * stride)[:, None] + np.arange(kw)[None, :]   # (Wo, kw)
    cols = idx[r[:, None, :, None], c[None, :, None, :]]               # (Ho, Wo, kh, kw)
    cols = cols.reshape(Ho * Wo, kh * kw)
    rows = np.repeat(np.arange(Ho * Wo), kh * kw).reshape(Ho * Wo, kh * kw)
    vals = np.broadcast_to(k.reshape(1, -1), cols.shape)

    keep = cols >= 0
    A = np.zeros((Ho * Wo, H * W))
    np.add.at(A, (rows[keep], cols[keep]), vals[keep])
    return A.astype(np.float32)
