"""Strategies and mutants for the engine's tests of parts and combined mistakes (not assignment code)."""

import numpy as np
import torch
from hypothesis import strategies as st

from reference.conv_matrix import conv_as_matrix
from reference.focal_loss import reweight
from reference.strategies import conv_cases, focal_cases


def _focal(weighted: bool):
    @st.composite
    def build(draw):
        logits, targets, counts, beta, gamma = draw(focal_cases())
        return {"weight": reweight(counts, beta or 0.9).float() if weighted else None, "gamma": gamma,
                "input": torch.from_numpy(logits).float(), "target": torch.from_numpy(targets)}
    return build()


def weighted_inputs():
    return _focal(True)


def default_weight_inputs():
    return _focal(False)


def conv_inputs():
    return conv_cases().map(lambda c: {"kernel": c[0], "input_shape": c[1].shape, "stride": c[2], "padding": c[3]})


def flipped(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, stride, padding)


def stride_one(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(kernel, input_shape, 1, padding)


def flipped_stride_one(kernel, input_shape, stride=1, padding=0):
    return conv_as_matrix(np.asarray(kernel, dtype=np.float64)[::-1, ::-1], input_shape, 1, padding)
