import numpy as np
import pytest
import torch
from hypothesis import assume, given

from reference.linear_region import forward, linear_region
from reference.strategies import relu_networks

PUBLISHED_WEIGHTS = [np.array([[1.5], [0.5]]), np.array([[1.0, 2.0], [2.0, 1.0]]), np.array([[1.0, 1.0]])]
PUBLISHED_BIASES = [np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([-1.0])]


def torch_network(weights, biases):
    layers = [(torch.from_numpy(w), torch.from_numpy(b)) for w, b in zip(weights, biases)]

    def h(x):
        for w, b in layers[:-1]:
            x = torch.relu(w @ x + b)
        w, b = layers[-1]
        return w @ x + b

    return h


@given(relu_networks())
def test_slope_matches_jacrev_and_offset_matches_direct_evaluation(case):
    weights, biases, x0 = case
    h = torch_network(weights, biases)
    x = torch.from_numpy(x0)
    slope, offset = linear_region(weights, biases, x0)
    jacobian = torch.func.jacrev(h)(x).numpy()
    value = h(x).numpy()
    assert slope.shape == jacobian.shape and offset.shape == value.shape
    np.testing.assert_allclose(slope, jacobian, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(slope @ x0 + offset, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(forward(weights, biases, x0), value, rtol=1e-12, atol=1e-12)


@given(relu_networks())
def test_map_is_affine_nearby_when_no_unit_sits_at_a_kink(case):
    weights, biases, x0 = case
    slope, offset = linear_region(weights, biases, x0)
    # A step much smaller than the 1/4 grid cannot flip a unit whose pre-activation is non-zero.
    pre, activation, at_kink = None, x0, False
    for w, b in zip(weights[:-1], biases[:-1]):
        pre = w @ activation + b
        at_kink |= bool(np.any(pre == 0))
        activation = np.maximum(pre, 0)
    assume(not at_kink)
    nearby = x0 + 1e-7 * np.linspace(-1, 1, x0.size)
    np.testing.assert_allclose(slope @ nearby + offset, forward(weights, biases, nearby), atol=1e-9)


@pytest.mark.parametrize("x0, h, W, b", [(2.0, 15.0, 6.0, 3.0), (-1.0, 1.5, 1.5, 3.0), (1.0, 9.0, 6.0, 3.0)])
def test_published_network(x0, h, W, b):
    slope, offset = linear_region(PUBLISHED_WEIGHTS, PUBLISHED_BIASES, np.array([x0]))
    assert forward(PUBLISHED_WEIGHTS, PUBLISHED_BIASES, np.array([x0])) == pytest.approx([h])
    assert slope.shape == (1, 1) and offset.shape == (1,)
    assert slope[0, 0] == pytest.approx(W) and offset[0] == pytest.approx(b)


def test_kink_counts_as_inactive_like_torch():
    weights = [np.array([[1.0]]), np.array([[2.0]])]
    biases = [np.array([-1.0]), np.array([0.5])]
    slope, offset = linear_region(weights, biases, np.array([1.0]))  # pre-activation exactly 0
    assert slope[0, 0] == 0.0 and offset[0] == 0.5
    jac = torch.func.jacrev(torch_network(weights, biases))(torch.tensor([1.0], dtype=torch.float64))
    assert jac.item() == 0.0


def test_the_kink_active_alternative_differs_only_at_a_kink():
    from reference.alternatives import kink_active

    weights = [np.array([[1.0]]), np.array([[2.0]])]
    biases = [np.array([-1.0]), np.array([0.5])]
    slope, offset = kink_active(weights, biases, np.array([1.0]))
    assert slope[0, 0] == 2.0 and offset[0] == -1.5  # the unit counts as active: relu'(0) = 1
    for x0 in (0.5, 1.5):
        for got, expected in zip(kink_active(weights, biases, np.array([x0])), linear_region(weights, biases, np.array([x0]))):
            np.testing.assert_array_equal(got, expected)


def test_single_layer_is_its_own_affine_map():
    w, b = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([1.0, -1.0])
    slope, offset = linear_region([w], [b], np.array([7.0, -3.0]))
    np.testing.assert_array_equal(slope, w)
    np.testing.assert_array_equal(offset, b)


@pytest.mark.parametrize(
    "weights, biases, x0, message",
    [
        ([], [], [1.0], "at least one layer"),
        ([np.ones((2, 1))], [np.ones(2), np.ones(2)], [1.0], "one bias per weight"),
        ([np.ones((2, 3))], [np.ones(2)], [1.0], "does not take inputs"),
        ([np.ones((2, 1))], [np.ones(3)], [1.0], "bias shape"),
        ([np.ones((2, 1))], [np.ones(2)], [[1.0]], "1-D"),
    ],
)
def test_rejects_bad_networks(weights, biases, x0, message):
    with pytest.raises(ValueError, match=message):
        linear_region(weights, biases, np.asarray(x0))
