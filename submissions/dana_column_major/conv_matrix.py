# Question 1: convolution as a matrix multiplication
import numpy as np


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    kernel = np.array(kernel, dtype=np.float64)
    kh, kw = kernel.shape
    H, W = input_shape
    Ho = (H + 2 * padding - kh) // stride + 1
    Wo = (W + 2 * padding - kw) // stride + 1

    A = np.zeros((Ho * Wo, H * W), dtype=np.float64)

    # one row of A per output pixel
    for i in range(Ho):
        for j in range(Wo):
            row = j * Ho + i
            # walk over every kernel tap
            for u in range(kh):
                for v in range(kw):
                    # position in the original (unpadded) image
                    r = i * stride + u - padding
                    c = j * stride + v - padding
                    if r < 0 or r >= H or c < 0 or c >= W:
                        continue  # this tap sits on the zero padding
                    col = c * H + r
                    A[row, col] = kernel[u, v]
    return A
