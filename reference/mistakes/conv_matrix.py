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


def full_size(kernel, input_shape, stride=1, padding=0):
    """The 'full' correlation: every overlap of kernel and input, (H+kh-1)x(W+kw-1) outputs, stride 1.

    scipy.signal.correlate2d's default mode; whatever stride and padding are asked for.
    """
    conv_as_matrix(kernel, input_shape, stride, padding)  # the same arguments are refused
    return _full(np.asarray(kernel, dtype=np.float64), input_shape)


def full_convolution(kernel, input_shape, stride=1, padding=0):
    """The textbook Toeplitz construction: true (flipped) convolution at full size, as scipy's convolve2d."""
    conv_as_matrix(kernel, input_shape, stride, padding)
    return _full(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape)


def flipped_ignores_stride(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, 1, padding)


def flipped_ignores_padding(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, stride, 0)


def valid_correlation(kernel, input_shape, stride=1, padding=0):
    """Stride 1 and no padding: scipy.signal.correlate2d(mode='valid')."""
    return conv_as_matrix(kernel, input_shape, 1, 0)


def valid_convolution(kernel, input_shape, stride=1, padding=0):
    """Flipped, stride 1, no padding: scipy.signal.convolve2d(mode='valid')."""
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, 1, 0)


def _full(kernel, input_shape):
    """Rows of a padded stride-1 matrix: 'full' output row r reads input row r + u - (kh - 1)."""
    kh, kw = kernel.shape
    height, width = (int(v) for v in input_shape)
    pad = max(kh, kw) - 1  # one padding for both axes; the surplus rows and columns are dropped
    matrix = conv_as_matrix(kernel, (height, width), 1, pad)
    out_w = output_size(width, kw, 1, pad)
    rows = np.arange(height + kh - 1) + pad - (kh - 1)
    cols = np.arange(width + kw - 1) + pad - (kw - 1)
    return matrix[(rows[:, None] * out_w + cols[None, :]).reshape(-1)]


def _sized(kernel, input_shape, stride, padding, out_h, out_w):
    """The conv matrix for an output of out_h x out_w pixels, whatever size the arguments give:
    output (i, j) reads input (i*s + u - p, j*s + v - p), taps outside the input read zero."""
    kernel = np.asarray(kernel, dtype=np.float64)
    height, width = (int(v) for v in input_shape)
    matrix = np.zeros((max(out_h, 0) * max(out_w, 0), height * width))
    for i, j, u, v in np.ndindex(max(out_h, 0), max(out_w, 0), *kernel.shape):
        row, col = i * stride + u - padding, j * stride + v - padding
        if 0 <= row < height and 0 <= col < width:
            matrix[i * out_w + j, row * width + col] = kernel[u, v]
    return matrix


def off_by_one_size(kernel, input_shape, stride=1, padding=0):
    """Ho = (H + 2p - kh) // s without the + 1: the last output row and column are lost."""
    conv_as_matrix(kernel, input_shape, stride, padding)
    kh, kw = np.asarray(kernel).shape
    height, width = (int(v) for v in input_shape)
    return _sized(kernel, input_shape, stride, padding,
                  (height + 2 * padding - kh) // stride, (width + 2 * padding - kw) // stride)


def true_division(kernel, input_shape, stride=1, padding=0):
    """Ho = round((H + 2p - kh) / s) + 1: one output too many where the fraction passes one half."""
    conv_as_matrix(kernel, input_shape, stride, padding)
    kh, kw = np.asarray(kernel).shape
    height, width = (int(v) for v in input_shape)
    return _sized(kernel, input_shape, stride, padding,
                  round((height + 2 * padding - kh) / stride) + 1, round((width + 2 * padding - kw) / stride) + 1)
