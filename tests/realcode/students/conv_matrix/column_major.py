"""Wrong: pixels numbered column by column (index = c * H + r), for the input and for the output."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.array(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (W + 2 * padding - kw) // stride + 1
    A = np.zeros((Ho * Wo, H * W))
    for i in range(Ho):
        for j in range(Wo):
            for u in range(kh):
                for v in range(kw):
                    r, c = i * stride + u - padding, j * stride + v - padding
                    if 0 <= r < H and 0 <= c < W:
                        A[j * Ho + i, c * H + r] = kernel[u, v]
    return A
