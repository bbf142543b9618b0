"""Wrong: true convolution, the kernel flipped in both axes (textbook definition)."""
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.flip(np.array(kernel, dtype=float))
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
                        A[i * Wo + j, r * W + c] = kernel[u, v]
    return A
