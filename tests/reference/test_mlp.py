import numpy as np
import pytest
import torch
from hypothesis import given

from reference.mlp import PARAM_KEYS, mlp_backward, mlp_forward
from reference.strategies import mlp_cases
from tests.reference.gradcheck import central_difference


def torch_loss(params, X, Y):
    t = {key: torch.tensor(value, requires_grad=True) for key, value in params.items()}
    h = torch.tanh(torch.from_numpy(X) @ t["Wh"].T + t["bh"])
    yhat = torch.softmax(h @ t["Wy"].T + t["by"], dim=1)
    loss = -(torch.from_numpy(Y) * torch.log_softmax(h @ t["Wy"].T + t["by"], dim=1)).sum(dim=1).mean()
    return yhat, loss, t


@given(mlp_cases())
def test_forward_and_backward_match_autograd(case):
    params, X, Y = case
    yhat_t, loss, t = torch_loss(params, X, Y)
    loss.backward()
    yhat, cache = mlp_forward(params, X)
    np.testing.assert_allclose(yhat, yhat_t.detach().numpy(), rtol=1e-12, atol=1e-14)
    grads = mlp_backward(params, cache, Y)
    assert set(grads) == set(PARAM_KEYS)
    for key in PARAM_KEYS:
        assert grads[key].shape == params[key].shape
        np.testing.assert_allclose(grads[key], t[key].grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=key)


@given(mlp_cases(max_batch=3))
def test_backward_matches_central_differences(case):
    params, X, Y = case
    params = {key: value.copy() for key, value in params.items()}

    def loss():
        yhat, _ = mlp_forward(params, X)
        return float(-np.mean(np.sum(Y * np.log(yhat), axis=1)))

    grads = mlp_backward(params, mlp_forward(params, X)[1], Y)
    for key in PARAM_KEYS:
        np.testing.assert_allclose(grads[key], central_difference(loss, params[key]), rtol=1e-5, atol=1e-7, err_msg=key)


def test_rejects_missing_or_mismatched_parameters():
    params = {"Wh": np.ones((3, 2)), "bh": np.ones(3), "Wy": np.ones((2, 3)), "by": np.ones(2)}
    with pytest.raises(ValueError, match="missing"):
        mlp_forward({"Wh": params["Wh"]}, np.ones((1, 2)))
    with pytest.raises(ValueError, match="do not chain"):
        mlp_forward({**params, "Wy": np.ones((2, 4))}, np.ones((1, 2)))
    with pytest.raises(ValueError, match="X must be"):
        mlp_forward(params, np.ones((1, 5)))
    with pytest.raises(ValueError, match="one-hot"):
        mlp_backward(params, mlp_forward(params, np.ones((1, 2)))[1], np.ones((1, 3)))
