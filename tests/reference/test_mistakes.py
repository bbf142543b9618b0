"""Each mutant keeps its reference's signature, really differs from it, and names the bundled mistakes."""

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.checks.cases import case_inputs
from grader.checks.common import evaluate
from grader.checks.property import replay
from grader.judge import compare, plain, same_mistake
from grader.rubric import load_rubric, resolve
from reference import conv_matrix, focal_loss, linear_region, mlp, softmax_classifier, strategies, theory
from reference.mistakes import conv_matrix as conv_mistakes
from reference.mistakes import focal_loss as focal_mistakes
from reference.mistakes import linear_region as region_mistakes
from reference.mistakes import mlp as mlp_mistakes
from reference.mistakes import softmax_classifier as softmax_mistakes
from reference.mistakes import theory as theory_mistakes
from tests.test_submissions import (
    PUBLISHED_NETWORK, SUBMISSIONS, close, conv_probes, focal_probes, linear_region_probes, load_module,
    mlp_params, reweight_probes, softmax_gradient_probes, softmax_probes,
)

ROOT = Path(__file__).resolve().parents[2]


def mutant_pairs():
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    pairs = {}
    for item in rubric.items:
        for mistake_id, mutant in item.mistakes.items():
            pairs[mutant] = (item.reference, item)
    return sorted(pairs.items())


def signature(obj):
    target = obj.__init__ if inspect.isclass(obj) else obj
    return [(p.name, p.default) for p in inspect.signature(target).parameters.values()]


@pytest.mark.parametrize("mutant, pair", mutant_pairs(), ids=lambda v: v if isinstance(v, str) else "")
def test_mutant_has_the_reference_signature(mutant, pair):
    reference, _ = pair
    assert signature(resolve(mutant)) == signature(resolve(reference))


# An input on which each mistake shows: padding and stride > 1, a lopsided kernel, N > 1 and
# N != C, huge logits in a row beside a tame one, unequal weights with gamma > 0, in the
# contract's dtypes (float32 logits and weights for FocalLoss).
RNG = np.random.RandomState(0)
WEIGHT = torch.tensor([0.2, 0.7, 2.1], dtype=torch.float32)
MLP_PARAMS = {"Wh": RNG.randn(3, 2), "bh": RNG.randn(3), "Wy": 100 * RNG.randn(2, 3), "by": np.array([1200.0, 0.0])}
INPUTS = {
    "conv_as_matrix": {"kernel": RNG.randn(2, 3), "input_shape": (4, 5), "stride": 2, "padding": 1},
    "linear_region": {"weights": [np.array([[1.0, -1.0], [-2.0, 0.5]]), np.array([[1.0, 2.0]])],
                      "biases": [np.array([0.1, -0.3]), np.array([0.5])], "x0": np.array([0.7, -1.2])},
    "softmax": {"logits": np.array([[1000.0, 0.0], [3.0, 1.0]])},
    "softmax_gradients": {"x": np.array([[1.0, 2.0], [3000.0, 0.0], [0.5, -1.0], [-1.0, 0.5]]),
                          "W": np.array([[0.1, -0.2, 0.3], [0.4, 0.0, -0.1]]), "b": RNG.randn(3), "labels": np.array([0, 2, 1, 2])},
    "mlp_forward": {"params": MLP_PARAMS, "X": RNG.randn(4, 2)},
    "mlp_backward": {"params": MLP_PARAMS, "X": RNG.randn(4, 2), "Y": np.eye(2)[[0, 1, 1, 0]]},
    "reweight": {"cls_num_list": [500, 40, 3], "beta": 0.999},
    "FocalLoss": {"weight": WEIGHT, "gamma": 2.0, "input": torch.from_numpy(RNG.randn(5, 3)).float(),
                  "target": torch.tensor([0, 1, 2, 2, 1])},
}
# Mistakes that show only on some inputs: a batch without the last class,
INPUTS_OF_MUTANT = {
    # And one on an output size whose fraction passes one half: 5 / 3 rounds to 2, not 1.
    "reference.mistakes.conv_matrix:true_division": {**INPUTS["conv_as_matrix"], "input_shape": (7, 5), "stride": 3, "padding": 0},
    "reference.mistakes.focal_loss:one_hot_without_num_classes": {**INPUTS["FocalLoss"], "target": torch.zeros(5, dtype=torch.int64)},
}


@pytest.mark.parametrize("mutant, pair", [p for p in mutant_pairs() if p[1][1].kind != "answers"], ids=lambda v: v if isinstance(v, str) else "")
def test_mutant_differs_from_the_reference(mutant, pair):
    _, item = pair
    inputs = INPUTS_OF_MUTANT.get(mutant, INPUTS[item.target.symbol])
    assert not same_mistake(evaluate(item, inputs, mutant), evaluate(item, inputs), 1e-4, 1e-6)


def listed_mistakes():
    """(item, mistake id, mutant) for every mistake a code item lists."""
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    return [(rubric, item, mistake_id, mutant) for item in rubric.items if item.kind in ("cases", "property")
            for mistake_id, mutant in item.mistakes.items()]


def _wrong_on(item, inputs, mutant, expected) -> bool:
    try:
        got = evaluate(item, inputs, mutant)
    except Exception:  # a mutant that raises loses the points too
        return True
    return compare(got, expected, item.rtol, item.atol) is not None


@pytest.mark.parametrize("rubric, item, mistake_id, mutant", listed_mistakes(),
                         ids=lambda v: v if isinstance(v, str) else getattr(v, "id", ""))
def test_listed_mistake_is_wrong_on_the_items_graded_inputs(rubric, item, mistake_id, mutant):
    # The inputs the grader really passes: an item's cases, or the examples its parts draw.
    if item.kind == "cases":
        table = [(inputs, evaluate(item, inputs)) for inputs in (case_inputs(item, case) for case in item.cases)]
    else:
        table = replay(rubric, item)
    assert table, "the reference fails on the item's own inputs"
    assert any(_wrong_on(item, inputs, mutant, expected) for inputs, expected in table), \
        f"{mistake_id} can never lose points on {item.id}: list it only where it shows"


def answer_mutants():
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    users = {}
    for item in rubric.items:
        if item.kind == "answers":
            for mutant in item.mistakes.values():
                users.setdefault(mutant, []).append(item)
    return sorted(users.items())


@pytest.mark.parametrize("mutant, items", answer_mutants(), ids=lambda v: v if isinstance(v, str) else "")
def test_answer_mutant_differs_on_some_item_that_lists_it(mutant, items):
    # At x0 = 2 and 1 every unit of the published network is active, so all_units_active
    # coincides with the truth there; x0 = -1 is where it shows.
    def differs(item):
        got, expected = resolve(mutant)(**item.args), resolve(item.reference)(**item.args)
        if isinstance(expected, dict):
            return not same_mistake(plain(got), plain(expected), 1e-4, 1e-6)
        return got != expected

    assert any(differs(item) for item in items)


# ---- what each mutant computes, where its mistake shows and where it cannot ----


def test_every_mutant_is_named_in_the_rubric():
    # The signature and difference tests above are driven by the rubric, so they cover only what it names.
    named = {mutant for mutant, _ in mutant_pairs()}
    for module in (conv_mistakes, region_mistakes, softmax_mistakes, mlp_mistakes, focal_mistakes, theory_mistakes):
        public = {name for name, value in vars(module).items()
                  if not name.startswith("_") and callable(value) and getattr(value, "__module__", None) == module.__name__}
        assert {f"{module.__name__}:{name}" for name in public} <= named


@given(strategies.conv_cases())
def test_conv_mutants(case):
    kernel, image, stride, padding = case
    args = (kernel, image.shape, stride, padding)
    expected = conv_matrix.conv_as_matrix(*args)
    assert np.array_equal(conv_mistakes.flipped_kernel(*args), conv_matrix.conv_as_matrix(kernel[::-1, ::-1], *args[1:]))
    assert np.array_equal(conv_mistakes.transposed(*args), expected.T)
    assert np.array_equal(conv_mistakes.ignores_stride(*args), conv_matrix.conv_as_matrix(kernel, image.shape, 1, padding))
    if stride == 1:
        assert np.array_equal(conv_mistakes.ignores_stride(*args), expected)
    if min(image.shape[0] - kernel.shape[0], image.shape[1] - kernel.shape[1]) >= 0:
        unpadded = conv_matrix.conv_as_matrix(kernel, image.shape, stride, 0)
        assert np.array_equal(conv_mistakes.ignores_padding(*args), unpadded)
        if padding > 0 and stride == 1:
            assert unpadded.shape[0] < expected.shape[0]
    if padding == 0:
        assert np.array_equal(conv_mistakes.ignores_padding(*args), expected)
    # Column-major: the matrix maps the column-major flattened image to the column-major flattened output.
    out = (expected @ image.reshape(-1)).reshape(conv_matrix.output_size(image.shape[0], kernel.shape[0], stride, padding), -1)
    assert np.allclose(conv_mistakes.column_major(*args) @ image.T.reshape(-1), out.T.reshape(-1))


def test_conv_mutants_differ_where_their_mistake_shows():
    kernel = np.arange(1.0, 7.0).reshape(2, 3)
    base = conv_matrix.conv_as_matrix(kernel, (4, 5), 1, 0)
    assert not np.array_equal(conv_mistakes.flipped_kernel(kernel, (4, 5)), base)
    assert not np.array_equal(conv_mistakes.column_major(kernel, (4, 5)), base)
    assert conv_mistakes.transposed(kernel, (4, 5)).shape != base.shape
    assert conv_mistakes.ignores_padding(kernel, (4, 5), 1, 1).shape != conv_matrix.conv_as_matrix(kernel, (4, 5), 1, 1).shape
    assert conv_mistakes.ignores_stride(kernel, (4, 5), 2, 0).shape != conv_matrix.conv_as_matrix(kernel, (4, 5), 2, 0).shape
    # A kernel symmetric under a half turn hides the flip.
    symmetric = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    assert np.array_equal(conv_mistakes.flipped_kernel(symmetric, (4, 5)), conv_matrix.conv_as_matrix(symmetric, (4, 5)))


def _full_correlation(kernel, image):
    """Every overlap of kernel and image, written out: out[i, j] = sum w[u, v] x[i + u - kh + 1, j + v - kw + 1]."""
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh - 1, kh - 1), (kw - 1, kw - 1)))
    out = np.zeros((image.shape[0] + kh - 1, image.shape[1] + kw - 1))
    for i, j in np.ndindex(*out.shape):
        out[i, j] = np.sum(kernel * padded[i:i + kh, j:j + kw])
    return out


@given(strategies.conv_cases())
def test_full_size_and_its_combinations(case):
    kernel, image, stride, padding = case
    args = (kernel, image.shape, stride, padding)
    flipped = kernel[::-1, ::-1]
    # 'full' whatever the stride and padding; the textbook Toeplitz matrix is the same with the kernel flipped.
    assert np.allclose(conv_mistakes.full_size(*args) @ image.reshape(-1), _full_correlation(kernel, image).reshape(-1))
    assert np.allclose(conv_mistakes.full_convolution(*args) @ image.reshape(-1), _full_correlation(flipped, image).reshape(-1))
    assert conv_mistakes.full_size(*args).shape == ((image.shape[0] + kernel.shape[0] - 1) * (image.shape[1] + kernel.shape[1] - 1), image.size)
    assert np.array_equal(conv_mistakes.flipped_ignores_stride(*args), conv_mistakes.ignores_stride(flipped, *args[1:]))
    if min(image.shape[0] - kernel.shape[0], image.shape[1] - kernel.shape[1]) >= 0:
        assert np.array_equal(conv_mistakes.flipped_ignores_padding(*args), conv_mistakes.ignores_padding(flipped, *args[1:]))
        assert np.array_equal(conv_mistakes.valid_correlation(*args), conv_matrix.conv_as_matrix(kernel, image.shape, 1, 0))
        assert np.array_equal(conv_mistakes.valid_convolution(*args), conv_mistakes.valid_correlation(flipped, *args[1:]))
    # With padding kh - 1 = kw - 1 and stride 1 the deep-learning output is the full one.
    if stride == 1 and padding == kernel.shape[0] - 1 == kernel.shape[1] - 1:
        assert np.array_equal(conv_mistakes.full_size(*args), conv_matrix.conv_as_matrix(*args))


@given(strategies.conv_cases())
def test_output_size_mutants(case):
    kernel, image, stride, padding = case
    args = (kernel, image.shape, stride, padding)
    (kh, kw), (height, width) = kernel.shape, image.shape
    out_h, out_w = conv_matrix.output_size(height, kh, stride, padding), conv_matrix.output_size(width, kw, stride, padding)
    expected = conv_matrix.conv_as_matrix(*args).reshape(out_h, out_w, -1)
    # One row and one column short: the rest is the right matrix.
    short = conv_mistakes.off_by_one_size(*args)
    assert np.array_equal(short, expected[:out_h - 1, :out_w - 1].reshape(-1, image.size))
    rounded = conv_mistakes.true_division(*args)
    rows, cols = round((height + 2 * padding - kh) / stride) + 1, round((width + 2 * padding - kw) / stride) + 1
    assert rounded.shape == (rows * cols, image.size) and rows >= out_h and cols >= out_w
    assert np.array_equal(rounded.reshape(rows, cols, -1)[:out_h, :out_w], expected)


def test_softmax_gradient_formula_mutants():
    x = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    W, b, labels = np.array([[0.1, -0.2, 0.3], [0.4, 0.0, -0.1]]), np.array([0.05, -0.05, 0.0]), np.array([0, 2, 1])
    p, onehot = softmax_classifier.softmax(x @ W + b), np.eye(3)[labels]
    for mutant, delta in [(softmax_mistakes.onehot_not_subtracted, p / 3),
                          (softmax_mistakes.true_class_in_class_loop, (p - 3 * onehot) / 3)]:
        dW, db = mutant(x, W, b, labels)
        assert np.allclose(dW, x.T @ delta) and np.allclose(db, delta.sum(axis=0))
    dW, db = softmax_mistakes.last_sample_only(x, W, b, labels)
    assert np.allclose(dW, np.outer(x[-1], p[-1] - onehot[-1]) / 3) and np.allclose(db, (p[-1] - onehot[-1]) / 3)
    # One sample is its own last sample.
    assert all(np.allclose(a, e) for a, e in zip(softmax_mistakes.last_sample_only(x[:1], W, b, labels[:1]),
                                                 softmax_classifier.softmax_gradients(x[:1], W, b, labels[:1])))


def test_theory_full_size_on_the_published_question():
    args = {"kernel_shape": (3, 3), "input_shape": (3, 3), "stride": 4, "padding": 2}
    full, toeplitz = theory_mistakes.full_size(**args), theory_mistakes.full_convolution(**args)
    assert (len(full), len(full[0])) == (len(toeplitz), len(toeplitz[0])) == (25, 9)
    # The first output reads only the input's corner, with the kernel's far corner; flipped, its near one.
    assert full[0] == [(2, 2)] + [0] * 8 and toeplitz[0] == [(0, 0)] + [0] * 8
    assert toeplitz[12] == [(2 - i, 2 - j) for i in range(3) for j in range(3)]


@given(strategies.relu_networks())
def test_linear_region_mutants(case):
    weights, biases, x0 = case
    W, b = linear_region.linear_region(*case)
    W_out, b_out = region_mistakes.bias_is_output(*case)
    assert np.array_equal(W_out, W) and np.allclose(b_out, linear_region.forward(*case))
    W_all, b_all = region_mistakes.all_units_active(*case)
    product = np.eye(len(x0))
    for w in weights:
        product = w @ product
    assert np.allclose(W_all, product)
    # With every ReLU replaced by the identity, the map is exact everywhere.
    assert np.allclose(W_all @ x0 + b_all, linear_region.forward(weights[-1:], biases[-1:], _unmasked_hidden(weights, biases, x0)))
    if all(np.all(w @ a + c > 0) for w, c, a in _hidden_layers(weights, biases, x0)):
        assert np.allclose(W_all, W) and np.allclose(b_all, b)


def _hidden_layers(weights, biases, x0):
    activation = x0
    for w, c in zip(weights[:-1], biases[:-1]):
        yield w, c, activation
        activation = np.maximum(w @ activation + c, 0.0)


def _unmasked_hidden(weights, biases, x0):
    activation = x0
    for w, c in zip(weights[:-1], biases[:-1]):
        activation = w @ activation + c
    return activation


def test_all_units_active_differs_where_a_unit_is_off():
    weights, biases = PUBLISHED_NETWORK
    x0 = np.array([-1.0])
    assert not np.allclose(region_mistakes.all_units_active(weights, biases, x0)[0], linear_region.linear_region(weights, biases, x0)[0])


@given(strategies.classifier_batches())
def test_softmax_mutants(case):
    x, W, b, labels = case
    logits = x @ W + b
    assert np.allclose(softmax_mistakes.no_max_subtraction(logits), softmax_classifier.softmax(logits))
    dW, db = softmax_classifier.softmax_gradients(*case)
    sW, sb = softmax_mistakes.sum_not_mean(*case)
    assert np.allclose(sW, len(x) * dW) and np.allclose(sb, len(x) * db)
    predicted = softmax_classifier.softmax(logits).argmax(axis=1)
    assert all(np.allclose(a, e) for a, e in zip(softmax_mistakes.wrong_class_subtracted(*case),
                                                  softmax_classifier.softmax_gradients(x, W, b, predicted)))


def test_softmax_mutants_differ_where_their_mistake_shows():
    big = np.array([[800.0, 799.0, 0.0], [3.0, 1.0, 0.0]])
    unstable = softmax_mistakes.no_max_subtraction(big)
    # inf / inf is nan where exp() overflowed; the finite exp(0) / inf is 0.
    assert np.all(np.isnan(unstable[0, :2])) and unstable[0, 2] == 0.0 and np.allclose(unstable[1], softmax_classifier.softmax(big)[1])
    x, W, b = np.eye(2), np.array([[2.0, 0.0], [0.0, 2.0]]), np.zeros(2)
    labels = np.array([1, 0])  # both samples misclassified
    dW, db = softmax_classifier.softmax_gradients(x, W, b, labels)
    assert not np.allclose(softmax_mistakes.wrong_class_subtracted(x, W, b, labels)[0], dW)
    assert not np.allclose(softmax_mistakes.sum_not_mean(x, W, b, labels)[0], dW)


def test_softmax_mutants_at_large_logits():
    logits = np.array([[1000.0, 999.0, 0.0], [2.0, 1.0, 0.0], [-1000.0, -999.0, -998.0]])
    right = softmax_classifier.softmax(logits)
    unstable = softmax_mistakes.no_max_subtraction(logits)
    assert np.all(np.isnan(unstable[0, :2])) and np.allclose(unstable[1], right[1])
    assert np.all(np.isnan(unstable[2])), "every exp() underflows to 0: 0/0"
    batch = softmax_mistakes.batch_max_subtraction(logits)
    # Only the row holding the batch's maximum survives.
    assert np.allclose(batch[0], right[0]) and np.all(np.isnan(batch[1:]))
    columns = softmax_mistakes.softmax_over_batch(logits)
    assert np.allclose(columns.sum(axis=0), 1.0) and not np.allclose(columns.sum(axis=1), 1.0)


@given(strategies.classifier_batches(large=True))
def test_gradient_mutants_are_the_right_formula_with_the_wrong_softmax(case):
    x, W, b, labels = case
    logits = x @ W + b

    def gradients(probs):
        delta = probs.copy()
        delta[np.arange(len(x)), labels] -= 1.0
        delta /= len(x)
        with np.errstate(invalid="ignore"):
            return x.T @ delta, delta.sum(axis=0)

    for mutant, probabilities in [(softmax_mistakes.gradients_without_max_subtraction, softmax_mistakes.no_max_subtraction),
                                  (softmax_mistakes.gradients_with_batch_max, softmax_mistakes.batch_max_subtraction),
                                  (softmax_mistakes.gradients_softmax_over_batch, softmax_mistakes.softmax_over_batch)]:
        assert all(_same(a, e) for a, e in zip(mutant(*case), gradients(probabilities(logits))))
    # Where a row's logits pass 710, the unshifted softmax is nan, and so is the gradient.
    if logits.max() > 710:
        assert np.isnan(softmax_mistakes.gradients_without_max_subtraction(*case)[1]).any()
    if (logits.max() - logits.max(axis=1)).max() > 746:
        assert np.isnan(softmax_mistakes.gradients_with_batch_max(*case)[1]).any()


def test_mixed_scale_batches_are_drawn():
    # The graded strategy reaches the logits where both unstable softmaxes break, on its own inputs.
    seen = {"overflow": False, "underflow": False}

    @settings(max_examples=100)
    @given(strategies.classifier_inputs())
    def look(inputs):
        logits = inputs["x"] @ inputs["W"] + inputs["b"]
        seen["overflow"] |= bool(logits.max() > 710)
        seen["underflow"] |= bool((logits.max() - logits.max(axis=1)).max() > 746)
        assert logits.dtype == np.float64 and np.abs(logits).max() < 1100

    look()
    assert all(seen.values()), seen


@given(strategies.mlp_cases(large="rows") | strategies.mlp_cases(large="offset"))
def test_mlp_forward_mutants(case):
    params, X, Y = case
    yhat, cache = mlp.mlp_forward(params, X)
    over_batch, batch_cache = mlp_mistakes.softmax_over_batch(params, X)
    assert np.allclose(over_batch.sum(axis=0), 1.0)
    assert np.array_equal(softmax_mistakes.softmax_over_batch(cache["ytilde"]), over_batch)
    unshifted, _ = mlp_mistakes.no_max_subtraction(params, X)
    if cache["ytilde"].max() > 710:
        assert np.isnan(unshifted).any()
    elif cache["ytilde"].min() > -700:
        assert np.allclose(unshifted, yhat)
    both, _ = mlp_mistakes.unshifted_softmax_over_batch(params, X)
    if np.abs(cache["ytilde"]).max() < 700:
        assert np.allclose(both, over_batch)
    # Each backward mutant is the right backward pass, fed its forward's cache from the student's X.
    for forward, backward in [(mlp_mistakes.softmax_over_batch, mlp_mistakes.softmax_over_batch_backward),
                              (mlp_mistakes.no_max_subtraction, mlp_mistakes.no_max_subtraction_backward),
                              (mlp_mistakes.unshifted_softmax_over_batch, mlp_mistakes.unshifted_softmax_over_batch_backward)]:
        with np.errstate(all="ignore"):
            assert _same(backward(params, cache, Y), mlp.mlp_backward(params, forward(params, X)[1], Y))
    summed = mlp_mistakes.sum_not_mean(params, cache, Y)
    assert all(np.allclose(summed[k], len(X) * v) for k, v in mlp.mlp_backward(params, cache, Y).items())


@given(strategies.mlp_cases())
def test_mlp_mutant(case):
    params, X, Y = case
    _, cache = mlp.mlp_forward(params, X)
    expected = mlp.mlp_backward(params, cache, Y)
    got = mlp_mistakes.tanh_derivative_of_preactivation(params, cache, Y)
    assert set(got) == set(expected)
    assert np.allclose(got["Wy"], expected["Wy"]) and np.allclose(got["by"], expected["by"])
    delta_h = (cache["yhat"] - Y) / len(X) @ params["Wy"] * (1.0 - cache["htilde"] ** 2)
    assert np.allclose(got["Wh"], delta_h.T @ X) and np.allclose(got["bh"], delta_h.sum(axis=0))
    if np.all(cache["htilde"] == 0.0):
        assert np.allclose(got["Wh"], expected["Wh"])


def test_mlp_mutant_differs_when_a_preactivation_is_not_zero():
    rng = np.random.RandomState(3)
    params, X = mlp_params(rng, 2, 3, 2), rng.randn(4, 2)
    Y = np.eye(2)[[0, 1, 1, 0]]
    _, cache = mlp.mlp_forward(params, X)
    assert not np.allclose(mlp_mistakes.tanh_derivative_of_preactivation(params, cache, Y)["Wh"],
                           mlp.mlp_backward(params, cache, Y)["Wh"])


@settings(max_examples=100)  # torch calls are the slow part of this file
@given(strategies.focal_cases(), st.booleans())
def test_focal_mutants(case, weighted):
    logits, targets, counts, beta, gamma = case
    beta = beta or 0.9
    weights = focal_loss.reweight(counts, beta)
    normalised = focal_mistakes.weights_sum_to_one(counts, beta)
    assert isinstance(normalised, torch.Tensor) and normalised.dtype == torch.float64
    assert torch.allclose(normalised * len(counts), weights)
    plain_list = focal_mistakes.not_a_tensor(counts, beta)
    assert type(plain_list) is list and all(type(v) is float for v in plain_list)
    assert np.allclose(plain_list, weights.numpy())

    w = weights if weighted else None
    logits, targets = torch.from_numpy(logits), torch.from_numpy(targets)
    expected = focal_loss.FocalLoss(w, gamma)(logits, targets)
    summed = focal_mistakes.sum_reduction(w, gamma)(logits, targets)
    assert summed.ndim == 0 and torch.allclose(summed, len(targets) * expected)
    if gamma == 0.0 or not weighted:
        assert torch.allclose(focal_mistakes.weighted_pt(w, gamma)(logits, targets), expected)
    if not weighted:
        assert torch.allclose(focal_mistakes.weight_normalised_mean(w, gamma)(logits, targets), expected)
    else:
        per_class = weights[targets]
        assert torch.allclose(focal_mistakes.weight_normalised_mean(w, gamma)(logits, targets),
                              expected * len(targets) / per_class.sum())


@given(st.lists(st.integers(1, 5000), min_size=2, max_size=6, unique=True), st.sampled_from([0.9, 0.99, 0.999, 0.9999]))
def test_reweight_mutants(counts, beta):
    right = focal_loss.reweight(counts, beta)
    raw = focal_mistakes.weights_not_normalised(counts, beta)
    assert isinstance(raw, torch.Tensor) and torch.allclose(raw / raw.sum() * len(counts), right)
    inverted = focal_mistakes.effective_number_not_inverted(counts, beta)
    assert torch.allclose(inverted.sum(), torch.tensor(float(len(counts)), dtype=torch.float64))
    # The more samples, the larger the weight: the reverse of the class-balanced order (equal once
    # beta**n has vanished for both counts).
    order = np.argsort(counts)
    assert np.all(np.diff(inverted.numpy()[order]) >= -1e-12) and np.all(np.diff(right.numpy()[order]) <= 1e-12)
    assert torch.allclose(inverted * right, inverted[0] * right[0])  # each the other's inverse, up to scale
    powered = focal_mistakes.n_to_the_beta(counts, beta)
    effective = 1.0 - np.power(np.asarray(counts, dtype=np.float64), beta)
    if 1 in counts:
        assert torch.isnan(powered[counts.index(1)])
    else:
        assert np.allclose(powered.numpy(), (1 - beta) / effective / ((1 - beta) / effective).sum() * len(counts))


def test_one_hot_without_num_classes_is_right_only_when_the_last_class_is_there():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 0.0, 4.0], [0.0, 2.0, 0.0]])
    weight = torch.tensor([0.2, 0.7, 2.1])
    mutant = focal_mistakes.one_hot_without_num_classes(weight, 2.0)
    every_class = torch.tensor([0, 1, 2, 1])
    assert torch.allclose(mutant(logits, every_class), focal_loss.FocalLoss(weight, 2.0)(logits, every_class))
    with pytest.raises(RuntimeError):  # two columns against three classes
        mutant(logits, torch.tensor([0, 1, 1, 0]))
    # Only class 0: its one column broadcasts, and log p_t is the sum of every class's log-probability.
    zeros = torch.zeros(4, dtype=torch.int64)
    log_pt = torch.log_softmax(logits.double(), dim=1).sum(dim=1)
    expected = (weight.double()[0] * -(1 - log_pt.exp()) ** 2.0 * log_pt).mean()
    assert torch.allclose(mutant(logits, zeros), expected)
    assert not torch.allclose(mutant(logits, zeros), focal_loss.FocalLoss(weight, 2.0)(logits, zeros))


def test_n_to_the_beta_is_nan_at_a_single_sample():
    assert torch.isnan(focal_mistakes.n_to_the_beta([200, 30, 1], 0.99)).any()
    assert not torch.isnan(focal_loss.reweight([200, 30, 1], 0.99)).any()


def _paper_sigmoid_focal(logits, targets, weight, gamma):
    """The original paper's code, written out: the modulator as exp(-g*y*z - g*log(1 + exp(-z)))."""
    labels = torch.nn.functional.one_hot(targets, logits.shape[1]).double()
    z = logits.double()
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, labels, reduction="none")
    modulator = torch.exp(-gamma * labels * z - gamma * torch.log1p(torch.exp(-z)))
    per_sample = torch.ones(len(targets), dtype=torch.float64) if weight is None else weight.double()[targets]
    return (per_sample[:, None] * modulator * bce).sum() / len(targets)


@settings(max_examples=100)
@given(strategies.focal_inputs())
def test_focal_reduction_and_sigmoid_mutants(inputs):
    weight, gamma, logits, targets = inputs["weight"], inputs["gamma"], inputs["input"], inputs["target"]
    n, c = logits.shape
    expected = focal_loss.FocalLoss(weight, gamma)(logits, targets)
    assert torch.allclose(focal_mistakes.mean_over_entries(weight, gamma)(logits, targets), expected / c)
    assert torch.allclose(focal_mistakes.divided_by_classes(weight, gamma)(logits, targets), expected * n / c)
    sigmoid = focal_mistakes.sigmoid_focal(weight, gamma)(logits, targets)
    if logits.abs().max() < 30:  # the paper's exp form itself overflows beyond
        assert torch.allclose(sigmoid, _paper_sigmoid_focal(logits, targets, weight, gamma))
    assert torch.allclose(focal_mistakes.sigmoid_focal_mean_over_entries(weight, gamma)(logits, targets), sigmoid / c)


def test_focal_mutants_differ_where_their_mistake_shows():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3], [-1.0, 0.0, 4.0], [0.0, 2.0, 0.0]], dtype=torch.float64)
    targets = torch.tensor([0, 1, 2, 2])
    weight = torch.tensor([0.2, 0.7, 2.1], dtype=torch.float64)
    expected = focal_loss.FocalLoss(weight, 2.0)(logits, targets)
    for mutant in (focal_mistakes.weighted_pt, focal_mistakes.sum_reduction, focal_mistakes.weight_normalised_mean,
                   focal_mistakes.mean_over_entries, focal_mistakes.divided_by_classes, focal_mistakes.sigmoid_focal,
                   focal_mistakes.sigmoid_focal_mean_over_entries):
        assert not torch.allclose(mutant(weight, 2.0)(logits, targets), expected), mutant.__name__
    for mutant in (focal_mistakes.weights_sum_to_one, focal_mistakes.weights_not_normalised,
                   focal_mistakes.effective_number_not_inverted, focal_mistakes.n_to_the_beta):
        assert not torch.allclose(mutant([500, 40, 3], 0.999), focal_loss.reweight([500, 40, 3], 0.999)), mutant.__name__


def test_focal_mutants_take_float32_inputs_and_compute_in_float64():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    weight = focal_loss.reweight([90, 10, 3], 0.99).float()
    for mutant in (focal_mistakes.weighted_pt, focal_mistakes.sum_reduction, focal_mistakes.weight_normalised_mean,
                   focal_mistakes.mean_over_entries, focal_mistakes.divided_by_classes, focal_mistakes.sigmoid_focal,
                   focal_mistakes.sigmoid_focal_mean_over_entries):
        assert mutant(weight, 1.0)(logits, torch.tensor([0, 2])).dtype == torch.float64


# ---- each bundled mistake submission is reproduced by its mutant ----


def _same(student, mutant) -> bool:
    if isinstance(mutant, (tuple, list)):
        return len(student) == len(mutant) and all(_same(a, b) for a, b in zip(student, mutant))
    if isinstance(mutant, dict):
        return set(student) == set(mutant) and all(_same(student[k], mutant[k]) for k in mutant)
    s, m = (np.asarray(v.detach() if isinstance(v, torch.Tensor) else v, dtype=np.float64) for v in (student, mutant))
    if s.shape != m.shape:
        return False
    nan = np.isnan(m)
    return bool(np.array_equal(np.isnan(s), nan) and close(np.where(nan, 0.0, s), np.where(nan, 0.0, m)))


def _focal_args(probe):
    (w, gamma, logits, targets), _ = probe
    return w, gamma, logits, targets


# submission -> (module file, run(module) -> [(student output, mutant output, what was probed)])
def _bundled_cases():
    def direct(name, mutant, probes):
        return lambda module: [(getattr(module, name)(*args), mutant(*args), args) for args, _ in probes()]

    def focal(mutant):
        def run(module):
            return [(module.FocalLoss(weight=w, gamma=g)(x, t), mutant(weight=w, gamma=g)(x, t), (w, g))
                    for w, g, x, t in map(_focal_args, focal_probes())]
        return run

    def both(first, second):
        return lambda module: first(module) + second(module)

    def backward(module):
        rng = np.random.RandomState(6)
        rows = []
        for n, nx, nh, ny in [(4, 3, 5, 2), (6, 2, 4, 3), (3, 1, 2, 4)]:
            params, X = mlp_params(rng, nx, nh, ny), rng.randn(n, nx)
            Y = np.eye(ny)[rng.randint(0, ny, n)]
            student = module.mlp_backward(params, module.mlp_forward(params, X)[1], Y)
            rows.append((student, mlp_mistakes.tanh_derivative_of_preactivation(params, mlp.mlp_forward(params, X)[1], Y), n))
        return rows

    return {
        "carl_flipped_kernel": ("conv_matrix", direct("conv_as_matrix", conv_mistakes.flipped_kernel, conv_probes)),
        "dana_column_major": ("conv_matrix", direct("conv_as_matrix", conv_mistakes.column_major, conv_probes)),
        "eve_bias_is_output": ("linear_region", direct("linear_region", region_mistakes.bias_is_output, linear_region_probes)),
        "finn_all_units_active": ("linear_region", direct("linear_region", region_mistakes.all_units_active, linear_region_probes)),
        "gina_unstable_softmax": ("softmax_classifier", both(
            direct("softmax", softmax_mistakes.no_max_subtraction, softmax_probes),
            direct("softmax_gradients", softmax_mistakes.gradients_without_max_subtraction, softmax_gradient_probes))),
        "hugo_gradient_sum": ("softmax_classifier", direct("softmax_gradients", softmax_mistakes.sum_not_mean, softmax_gradient_probes)),
        "iris_tanh_preactivation": ("mlp", backward),
        "jack_weighted_pt": ("focal_loss", focal(focal_mistakes.weighted_pt)),
        "kate_weights_sum_to_one": ("focal_loss", direct("reweight", focal_mistakes.weights_sum_to_one, reweight_probes)),
        "leo_weight_normalised_mean": ("focal_loss", focal(focal_mistakes.weight_normalised_mean)),
    }


BUNDLED = _bundled_cases()


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_mistake_is_reproduced_by_its_mutant(name):
    module_name, run = BUNDLED[name]
    with np.errstate(all="ignore"):
        rows = run(load_module(SUBMISSIONS / name, module_name))
    for student, mutant, args in rows:
        assert _same(student, mutant), f"{name} on {args!r}"
    with np.errstate(all="ignore"):
        correct = run(load_module(SUBMISSIONS / "ada_lovelace", module_name))
    assert any(not _same(right, mutant) for right, mutant, _ in correct), "the probes never show this mistake"


def test_every_bundled_function_mistake_has_its_mutant():
    folders = {p.name for p in SUBMISSIONS.iterdir() if p.is_dir()}
    correct_or_broken = {"ada_lovelace", "ben_okafor", "mia_missing_files", "noah_syntax_error"}
    assert set(BUNDLED) == folders - correct_or_broken


# ---- the written-answer mutants on the published questions ----


def test_theory_flipped_kernel_on_the_published_question():
    args = {"kernel_shape": (3, 3), "input_shape": (3, 3), "stride": 4, "padding": 2}
    grid = theory_mistakes.flipped_kernel(**args)
    expected = theory.conv_matrix_symbolic(**args)
    assert expected[0][0] == (2, 2) and grid[0][0] == (0, 0)
    assert grid[1][2] == (0, 2) and grid[2][6] == (2, 0) and grid[3][8] == (2, 2)
    assert [[entry == 0 for entry in row] for row in grid] == [[entry == 0 for entry in row] for row in expected]
    carl = yaml.safe_load((SUBMISSIONS / "carl_flipped_kernel" / "answers.yaml").read_text())
    assert theory.read_conv_answer(carl["conv_matrix"]["A"], (4, 9)) == grid


def test_theory_linear_region_mutants_on_the_published_network():
    weights, biases = PUBLISHED_NETWORK
    eve = yaml.safe_load((SUBMISSIONS / "eve_bias_is_output" / "answers.yaml").read_text())["linear_region"]
    for x0, b in [(2, 15.0), (-1, 1.5), (1, 9.0)]:
        got = theory_mistakes.bias_is_output(weights, biases, x0)
        right = theory.linear_region_answer(weights, biases, x0)
        assert set(got) == {"W", "b"} and np.allclose(got["W"], right["W"]) and np.allclose(got["b"], [b])
        written = theory.read_linear_region_answer(eve, weights, biases, x0)
        assert np.allclose(written["b"], got["b"]) and np.allclose(written["W"], got["W"])
    # The published network has every unit active at 2 and 1; at -1 the first hidden unit is off.
    for x0 in (2, 1):
        unmasked, right = theory_mistakes.all_units_active(weights, biases, [x0]), theory.linear_region_answer(weights, biases, x0)
        assert np.allclose(unmasked["W"], right["W"]) and np.allclose(unmasked["b"], right["b"])
    unmasked = theory_mistakes.all_units_active(weights, biases, -1)
    assert np.allclose(unmasked["W"], [[6.0]]) and np.allclose(unmasked["b"], [3.0])


# ---- mistakes that show only as an error ----


@pytest.mark.skipif(torch.cuda.is_available(), reason=".cuda() works where there is a GPU")
def test_a_cuda_call_without_a_gpu_is_named_by_its_error():
    from grader.checks.common import known_error

    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    with pytest.raises(Exception) as raised:
        torch.ones(2).cuda()
    assert known_error(rubric, f"{raised.type.__name__}: {raised.value}") == "cuda_call"
    # Other errors keep their own message: a shape mismatch is no device mistake.
    with pytest.raises(RuntimeError) as raised:
        torch.ones(2, 3) * torch.ones(2, 2)
    assert known_error(rubric, f"RuntimeError: {raised.value}") is None
