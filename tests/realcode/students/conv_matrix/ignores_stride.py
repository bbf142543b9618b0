"""Wrong: stride ignored, every output position is computed as if the stride were 1."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.array(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    Ho = H + 2 * padding - kh + 1
    Wo = W + 2 * padding - kw + 1
    A = np.zeros((Ho * Wo, H * W))
    for i in range(Ho):
        for j in range(Wo):
            for u in range(kh):
                for v in range(kw):
                    r, c = i + u - padding, j + v - padding
                    if 0 <= r < H and 0 <= c < W:
                        A[i * Wo + j, r * W + c] = kernel[u, v]
    return A
