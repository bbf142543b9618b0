"""Classic mistakes in the written answers, with the signatures of reference.theory's answers."""

import numpy as np

from reference.linear_region import forward
from reference.mistakes import conv_matrix as _conv
from reference.mistakes.linear_region import all_units_active as _unmasked
from reference.theory import conv_matrix_symbolic, linear_region_answer


def flipped_kernel(kernel_shape, input_shape, stride, padding):
    kh, kw = kernel_shape
    grid = conv_matrix_symbolic(kernel_shape, input_shape, stride, padding)
    return [[0 if entry == 0 else (kh - 1 - entry[0], kw - 1 - entry[1]) for entry in row] for row in grid]


def _symbolic(numeric, kernel_shape, input_shape, stride, padding):
    """A numeric conv mutant's matrix written with kernel elements, as conv_matrix_symbolic does."""
    kh, kw = kernel_shape
    labels = np.arange(1, kh * kw + 1, dtype=np.float64).reshape(kh, kw)
    return [[0 if v == 0 else divmod(int(v) - 1, kw) for v in row] for row in numeric(labels, input_shape, stride, padding)]


def full_size(kernel_shape, input_shape, stride, padding):
    """Every overlap of kernel and input: for the published question, 25 rows instead of 4."""
    return _symbolic(_conv.full_size, kernel_shape, input_shape, stride, padding)


def full_convolution(kernel_shape, input_shape, stride, padding):
    """The textbook Toeplitz matrix: flipped kernel, full size."""
    return _symbolic(_conv.full_convolution, kernel_shape, input_shape, stride, padding)


def bias_is_output(weights, biases, x0):
    answer = linear_region_answer(weights, biases, x0)
    return {"W": answer["W"], "b": forward(weights, biases, np.atleast_1d(np.asarray(x0, dtype=np.float64)))}


def all_units_active(weights, biases, x0):
    slope, offset = _unmasked(weights, biases, np.atleast_1d(np.asarray(x0, dtype=np.float64)))
    return {"W": slope, "b": offset}
