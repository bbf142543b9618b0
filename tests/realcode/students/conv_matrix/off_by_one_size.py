"""Wrong: output size (H + 2p - kh) // s without the + 1, so the last output row and column are lost."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.array(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    Ho = (H + 2 * padding - kh) // stride
    Wo = (W + 2 * padding - kw) // stride
    A = np.zeros((Ho * Wo, H * W))
    for i in range(Ho):
        for j in range(Wo):
            for u in range(kh):
                for v in range(kw):
                    r, c = i * stride + u - padding, j * stride + v - padding
                    if 0 <= r < H and 0 <= c < W:
                        A[i * Wo + j, r * W + c] = kernel[u, v]
    return A
