import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from reference.softmax_classifier import cross_entropy, softmax, softmax_gradients
from reference.strategies import classifier_batches, float_arrays
from tests.reference.gradcheck import central_difference


@given(float_arrays((5, 4), 50.0))
def test_softmax_matches_torch(logits):
    expected = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(softmax(logits), expected, rtol=1e-12, atol=1e-15)


@given(st.floats(700.0, 1e5), st.integers(1, 6))
def test_softmax_is_stable_for_huge_logits(scale, classes):
    logits = scale * np.linspace(-1.0, 1.0, classes)[None, :] + scale
    probs = softmax(logits)
    assert np.all(np.isfinite(probs))
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    expected = torch.softmax(torch.from_numpy(logits), dim=1).numpy()
    np.testing.assert_allclose(probs, expected, rtol=1e-12, atol=1e-15)


@given(classifier_batches())
def test_cross_entropy_matches_torch(case):
    x, W, b, labels = case
    logits = x @ W + b
    expected = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels)).item()
    assert cross_entropy(softmax(logits), labels) == pytest.approx(expected, rel=1e-10, abs=1e-12)


@given(classifier_batches())
def test_gradients_match_autograd(case):
    x, W, b, labels = case
    Wt = torch.tensor(W, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    F.cross_entropy(torch.from_numpy(x) @ Wt + bt, torch.from_numpy(labels)).backward()
    dW, db = softmax_gradients(x, W, b, labels)
    np.testing.assert_allclose(dW, Wt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, bt.grad.numpy(), rtol=1e-10, atol=1e-12)


@given(classifier_batches(max_batch=4, max_features=3, max_classes=4))
def test_gradients_match_central_differences(case):
    x, W, b, labels = case
    W, b = W.copy(), b.copy()

    def loss():
        return cross_entropy(softmax(x @ W + b), labels)

    dW, db = softmax_gradients(x, W, b, labels)
    np.testing.assert_allclose(dW, central_difference(loss, W), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(db, central_difference(loss, b), rtol=1e-5, atol=1e-7)


def test_gradient_is_a_mean_not_a_sum():
    x, W, b, labels = np.ones((1, 2)), np.zeros((2, 3)), np.zeros(3), np.array([0])
    single = softmax_gradients(x, W, b, labels)
    doubled = softmax_gradients(np.repeat(x, 2, axis=0), W, b, np.repeat(labels, 2))
    np.testing.assert_allclose(doubled[0], single[0])
    np.testing.assert_allclose(doubled[1], single[1])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: softmax(np.ones(3)), "logits"),
        (lambda: cross_entropy(np.full((2, 3), 1 / 3), np.array([0, 3])), "labels"),
        (lambda: cross_entropy(np.full((2, 3), 1 / 3), np.array([0.0, 1.0])), "integers"),
        (lambda: softmax_gradients(np.ones((2, 3)), np.ones((2, 3)), np.ones(3), np.array([0, 1])), "chain"),
        (lambda: softmax_gradients(np.ones((0, 2)), np.ones((2, 3)), np.ones(3), np.array([], int)), "empty"),
    ],
)
def test_rejects_bad_inputs(call, message):
    with pytest.raises(ValueError, match=message):
        call()
