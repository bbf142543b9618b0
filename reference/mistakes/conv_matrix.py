"""Classic mistakes in writing a convolution as a matrix."""

import numpy as np

from reference.conv_matrix import conv_as_matrix, output_size


def flipped_kernel(kernel, input_shape, stride=1, padding=0):
    """True convolution: the kernel flipped in both axes."""
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, stride, padding)


def ignores_padding(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(kernel, input_shape, stride, 0)


def ignores_stride(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(kernel, input_shape, 1, padding)


def transposed(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(kernel, input_shape, stride, padding).T


def column_major(kernel, input_shape, stride=1, padding=0):
    """Pixels of the input and of the output numbered column by column."""
    # The reference validates the arguments before any shape is derived from them.
    matrix = conv_as_matrix(kernel, input_shape, stride, padding)
    kernel = np.asarray(kernel, dtype=np.float64)
    height, width = (int(v) for v in input_shape)
    out_h = output_size(height, kernel.shape[0], int(stride), int(padding))
    out_w = output_size(width, kernel.shape[1], int(stride), int(padding))
    rows = np.arange(out_h * out_w).reshape(out_h, out_w).T.reshape(-1)
    cols = np.arange(height * width).reshape(height, width).T.reshape(-1)
    return matrix[rows][:, cols]
