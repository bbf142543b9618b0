"""Classic mistakes in the written answers, with the signatures of reference.theory's answers."""

import numpy as np

from reference.linear_region import forward
from reference.mistakes.linear_region import all_units_active as _unmasked
from reference.theory import conv_matrix_symbolic, linear_region_answer


def flipped_kernel(kernel_shape, input_shape, stride, padding):
    kh, kw = kernel_shape
    grid = conv_matrix_symbolic(kernel_shape, input_shape, stride, padding)
    return [[0 if entry == 0 else (kh - 1 - entry[0], kw - 1 - entry[1]) for entry in row] for row in grid]


def bias_is_output(weights, biases, x0):
    answer = linear_region_answer(weights, biases, x0)
    return {"W": answer["W"], "b": forward(weights, biases, np.atleast_1d(np.asarray(x0, dtype=np.float64)))}


def all_units_active(weights, biases, x0):
    slope, offset = _unmasked(weights, biases, np.atleast_1d(np.asarray(x0, dtype=np.float64)))
    return {"W": slope, "b": offset}
