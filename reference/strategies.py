"""Hypothesis strategies that draw valid inputs for each function of the assignment.

Values on a dyadic grid (multiples of 1/4) keep every sum and product exact in
float64, so two correct implementations agree bit-for-bit on which ReLU units
are active, kinks included.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reference.conv_matrix import output_size


def dyadic_arrays(shape, bound: int = 8) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of multiples of 1/4 in [-bound/4, bound/4]."""
    return hnp.arrays(np.int64, shape, elements=st.integers(-bound, bound)).map(lambda a: a / 4.0)


def float_arrays(shape, bound: float = 5.0) -> st.SearchStrategy[np.ndarray]:
    elements = st.floats(-bound, bound, allow_nan=False, allow_infinity=False, width=64)
    return hnp.arrays(np.float64, shape, elements=elements)


@st.composite
def conv_cases(draw, max_size: int = 9, max_kernel: int = 5):
    """(kernel, input, stride, padding) with a non-empty output."""
    kh, kw = draw(st.integers(1, max_kernel)), draw(st.integers(1, max_kernel))
    padding = draw(st.integers(0, 3))
    height = draw(st.integers(max(1, kh - 2 * padding), max_size))
    width = draw(st.integers(max(1, kw - 2 * padding), max_size))
    stride = draw(st.integers(1, 4))
    assert output_size(height, kh, stride, padding) >= 1 and output_size(width, kw, stride, padding) >= 1
    kernel = draw(float_arrays((kh, kw), 10.0))
    image = draw(float_arrays((height, width), 10.0))
    return kernel, image, stride, padding


@st.composite
def relu_networks(draw, max_depth: int = 4, max_width: int = 6):
    """(weights, biases, x0) of a network with 1..max_depth layers, on the dyadic grid."""
    depth = draw(st.integers(1, max_depth))
    widths = [draw(st.integers(1, 5))] + [draw(st.integers(1, max_width)) for _ in range(depth - 1)]
    widths.append(draw(st.integers(1, 3)))
    weights = [draw(dyadic_arrays((widths[i + 1], widths[i]))) for i in range(depth)]
    biases = [draw(dyadic_arrays((widths[i + 1],))) for i in range(depth)]
    x0 = draw(dyadic_arrays((widths[0],), bound=12))
    return weights, biases, x0


# Largest logit a row is brought to; 0 leaves the row as drawn (tame, |logit| up to about 60).
LOGIT_PEAKS = (0.0, 30.0, 300.0, 1000.0)


def mixed_scale_rows(draw, x: np.ndarray, W: np.ndarray) -> np.ndarray:
    """x with each row rescaled so that its largest |x W| is one of LOGIT_PEAKS, drawn per row.

    One batch then holds tame rows beside rows near 1000, where exp() overflows without the row's
    maximum subtracted, and where subtracting the batch's maximum underflows a tame row to 0/0.
    """
    peaks = np.abs(x @ W).max(axis=1)
    wanted = draw(hnp.arrays(np.float64, (len(x),), elements=st.sampled_from(LOGIT_PEAKS)))
    # Rows whose logits are all near 0 stay as they are, rather than be blown up by a huge factor.
    factors = np.where((wanted > 0) & (peaks > 0.1), wanted / np.maximum(peaks, 0.1), 1.0)
    return x * factors[:, None]


@st.composite
def classifier_batches(draw, max_batch: int = 8, max_features: int = 6, max_classes: int = 6, large: bool = False):
    """(x, W, b, labels) for a one-layer softmax classifier; with `large`, rows of mixed scale up to about 1000."""
    n = draw(st.integers(1, max_batch))
    d = draw(st.integers(1, max_features))
    c = draw(st.integers(2, max_classes))
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    x, W, b = draw(float_arrays((n, d), 3.0)), draw(float_arrays((d, c), 3.0)), draw(float_arrays((c,), 3.0))
    if large:
        x = mixed_scale_rows(draw, x, W)
    return x, W, b, labels


@st.composite
def mlp_cases(draw, max_batch: int = 6, large: str | None = None):
    """(params, X, Y) for the tanh/softmax perceptron, Y one-hot.

    large="rows": the output weights are scaled so that the logits reach about 1000 and rows of one
    batch lie far apart (h is bounded by tanh, so Wy sets the logits' scale).
    large="offset": by gets an offset common to every class, up to 1000, that leaves the softmax
    unchanged; Wy stays small, so gradients through it stay as precise as the cache given to the
    backward pass (a float32 cache of a batch with Wy near 1000 is not).
    """
    n, nx = draw(st.integers(1, max_batch)), draw(st.integers(1, 5))
    nh, ny = draw(st.integers(1, 6)), draw(st.integers(2, 5))
    params = {
        "Wh": draw(float_arrays((nh, nx), 2.0)),
        "bh": draw(float_arrays((nh,), 2.0)),
        "Wy": draw(float_arrays((ny, nh), 2.0)),
        "by": draw(float_arrays((ny,), 2.0)),
    }
    labels = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, ny - 1)))
    X = draw(float_arrays((n, nx), 3.0))
    if large == "rows":
        # The batch's largest logit is brought to the drawn peak; rows lie up to twice that apart.
        peak = float((np.tanh(X @ params["Wh"].T + params["bh"]) @ params["Wy"].T).max())
        wanted = draw(st.sampled_from(LOGIT_PEAKS))
        if wanted > 0 and peak > 0.1:
            params["Wy"] = params["Wy"] * (wanted / peak)
    elif large == "offset":
        # On the dyadic grid, by plus the offset is exact in float32 too.
        offset = draw(st.sampled_from((0.0, 300.0, 1000.0, -1000.0)))
        params["by"] = draw(dyadic_arrays((ny,))) + offset
    return params, X, np.eye(ny)[labels]


@st.composite
def focal_cases(draw, max_batch: int = 12, max_classes: int = 6):
    """(logits, targets, class counts, beta, gamma) with unequal class counts."""
    c = draw(st.integers(2, max_classes))
    n = draw(st.integers(1, max_batch))
    counts = draw(st.lists(st.integers(1, 5000), min_size=c, max_size=c, unique=True))
    beta = draw(st.sampled_from([0.0, 0.9, 0.99, 0.999, 0.9999]))
    gamma = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]) | st.floats(0.0, 5.0))
    logits = draw(float_arrays((n, c), 8.0))
    targets = draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    return logits, targets, counts, beta, gamma


# ---- inputs for rubric property items: dicts named as the call expressions name them ----


def conv_inputs():
    return conv_cases().map(lambda c: {"kernel": c[0], "input_shape": c[1].shape, "stride": c[2], "padding": c[3]})


def _away_from_kinks(case, margin: float = 1e-6) -> bool:
    """relu'(0) is a convention; graded inputs keep every pre-activation clear of 0."""
    weights, biases, x0 = case
    activation = x0
    for w, b in zip(weights[:-1], biases[:-1]):
        pre = w @ activation + b
        if np.any(np.abs(pre) < margin):
            return False
        activation = np.maximum(pre, 0.0)
    return True


@st.composite
def _float_networks(draw):
    weights, biases, x0 = draw(relu_networks())
    # Continuous values: kinks, exact on the dyadic grid, become measure-zero and are then filtered.
    jitter = draw(st.floats(0.01, 0.2))
    weights = [w + jitter * np.cos(np.arange(w.size).reshape(w.shape) + 1.0) for w in weights]
    return weights, biases, x0 + jitter


def network_inputs():
    return _float_networks().filter(_away_from_kinks).map(lambda c: {"weights": c[0], "biases": c[1], "x0": c[2]})


def logits_inputs():
    """Logits from tame to 1000, where exp() overflows unless the row max is subtracted."""
    @st.composite
    def build(draw):
        n, c = draw(st.integers(1, 6)), draw(st.integers(2, 6))
        scale = draw(st.sampled_from([1.0, 10.0, 100.0, 1000.0]))
        return {"logits": draw(float_arrays((n, c), 1.0)) * scale}
    return build()


def cross_entropy_inputs():
    from reference.softmax_classifier import softmax

    return classifier_batches().map(lambda c: {"probs": softmax(c[0] @ c[1] + c[2]), "labels": c[3]})


def classifier_inputs():
    """Batches whose rows reach logits of about 1000, tame and huge rows side by side."""
    return classifier_batches(large=True).map(lambda c: {"x": c[0], "W": c[1], "b": c[2], "labels": c[3]})


def mlp_forward_inputs():
    """Output logits from tame to about 1000, rows of one batch far apart."""
    return mlp_cases(large="rows").map(lambda c: {"params": c[0], "X": c[1], "Y": c[2]})


def mlp_backward_inputs():
    """Output logits from tame to about 1000 through a common offset, which changes no gradient."""
    return mlp_cases(large="offset").map(lambda c: {"params": c[0], "X": c[1], "Y": c[2]})


def reweight_inputs():
    return focal_cases().map(lambda c: {"cls_num_list": c[2], "beta": c[3] if c[3] > 0 else 0.9})


def _focal_inputs(weighted: bool, targets_from, scales=(1.0,)):
    """The contract's dtypes: float32 logits as in training, int64 targets, float32 weights (or None).

    Logits drawn in [-8, 8] are multiplied by one of `scales`: at 30, a target's softmax probability
    underflows to 0 in float32, where log(softmax) gives inf and log_softmax stays finite.
    """
    import torch

    from reference.focal_loss import reweight

    @st.composite
    def build(draw):
        logits, _, counts, beta, gamma = draw(focal_cases())
        logits = logits * draw(st.sampled_from(scales))
        targets = draw(targets_from(*logits.shape))
        if len(targets) > len(logits):  # widened to hold every class
            logits = np.concatenate([logits, draw(float_arrays((len(targets) - len(logits), logits.shape[1]), 8.0))])
        return {
            "weight": reweight(counts, beta or 0.9).float() if weighted else None,
            "gamma": gamma,
            "input": torch.from_numpy(logits).float(),
            "target": torch.from_numpy(targets),
        }
    return build()


@st.composite
def _every_class(draw, n: int, c: int):
    """Each of the c classes at least once, and more targets up to n, shuffled."""
    extra = draw(hnp.arrays(np.int64, (max(n - c, 0),), elements=st.integers(0, c - 1)))
    return np.asarray(draw(st.permutations(list(range(c)) + extra.tolist())), dtype=np.int64)


def _without_last_class(n: int, c: int):
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 2))


def focal_inputs():
    """Any of the focal-loss parts' inputs: weights from unequal counts or none, gamma >= 0."""
    return st.one_of(focal_weighted_inputs(), focal_absent_class_inputs(), focal_default_inputs())


def focal_weighted_inputs():
    """Class weights from unequal counts, every class in the batch, logits up to about 240."""
    return _focal_inputs(True, _every_class, scales=(1.0, 1.0, 10.0, 30.0))


def focal_absent_class_inputs():
    """Class weights, and a batch without the last class, as long-tailed batches often are."""
    return _focal_inputs(True, _without_last_class)


def focal_default_inputs():
    """weight=None, its documented default, and no other edge case: every class is in the batch."""
    return _focal_inputs(False, _every_class)
