import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from reference.focal_loss import FocalLoss, reweight
from reference.strategies import focal_cases


def direct_focal(logits, targets, weight, gamma):
    """The formula written out from exp() and a sum, independent of log_softmax."""
    exps = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
    probs = exps / exps.sum(dim=1, keepdim=True)
    pt = probs[torch.arange(len(targets)), targets]
    return (weight[targets] * (1 - pt) ** gamma * -torch.log(pt)).mean()


def test_reweight_known_value():
    weights = reweight([645, 387, 232, 139], 0.9999)
    assert isinstance(weights, torch.Tensor)
    np.testing.assert_allclose(weights.numpy().round(4), [0.4043, 0.6652, 1.1011, 1.8294])


@given(focal_cases())
def test_reweight_sums_to_class_count_and_favours_rare_classes(case):
    _, _, counts, beta, _ = case
    weights = reweight(counts, beta).numpy()
    assert weights.sum() == pytest.approx(len(counts))
    if beta > 0:
        order = np.argsort(counts)
        # Non-increasing, not strictly: beta**n saturates for large n and the weights tie.
        assert np.all(np.diff(weights[order]) <= 1e-12), "a rarer class must never weigh less"
    else:
        np.testing.assert_allclose(weights, 1.0)


@given(focal_cases())
def test_gamma_zero_is_cross_entropy_with_weights_meaned_over_the_batch(case):
    logits, targets, counts, beta, _ = case
    x, y = torch.from_numpy(logits), torch.from_numpy(targets)
    weight = reweight(counts, beta)
    expected = F.cross_entropy(x, y, weight=weight, reduction="none").mean()
    assert FocalLoss(weight=weight, gamma=0.0)(x, y).item() == pytest.approx(expected.item(), rel=1e-12)
    assert FocalLoss()(x, y).item() == pytest.approx(F.cross_entropy(x, y).item(), rel=1e-12)


@given(focal_cases())
def test_matches_direct_formula_in_value_and_gradient(case):
    logits, targets, counts, beta, gamma = case
    weight = reweight(counts, beta)
    x_ref = torch.tensor(logits, requires_grad=True)
    x_peer = torch.tensor(logits, requires_grad=True)
    y = torch.from_numpy(targets)
    loss = FocalLoss(weight=weight, gamma=gamma)(x_ref, y)
    expected = direct_focal(x_peer, y, weight, gamma)
    loss.backward()
    expected.backward()
    assert loss.ndim == 0
    assert loss.item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(x_ref.grad.numpy(), x_peer.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_weighted_pt_and_weight_normalised_mean_are_distinguished():
    # Unequal weights and gamma > 0: the two mistakes the one-sample-per-class test misses.
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.5, 0.0], [0.0, 0.0, 3.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0])
    weight = reweight([1000, 100, 10], 0.999)
    correct = FocalLoss(weight, gamma=2.0)(logits, y).item()
    ce = F.cross_entropy(logits, y, weight=weight, reduction="none")
    weighted_pt = ((1 - torch.exp(-ce)) ** 2 * ce).mean().item()
    per_sample = (1 - torch.softmax(logits, 1)[torch.arange(4), y]) ** 2 * F.cross_entropy(logits, y, reduction="none")
    normalised = ((weight[y] * per_sample).sum() / weight[y].sum()).item()
    assert abs(correct - weighted_pt) > 1e-3 and abs(correct - normalised) > 1e-3


def test_keeps_the_input_device_and_accepts_float32():
    loss = FocalLoss(reweight([5, 3], 0.9), gamma=1.0)(torch.zeros(2, 2), torch.tensor([0, 1]))
    assert loss.device.type == "cpu" and loss.item() == pytest.approx(np.log(2) / 2 * np.mean(reweight([5, 3], 0.9).numpy()))


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: reweight([], 0.9), "non-empty"),
        (lambda: reweight([3, 0], 0.9), "positive"),
        (lambda: reweight([3, 4], 1.0), "beta"),
        (lambda: FocalLoss(gamma=-1.0), "gamma"),
        (lambda: FocalLoss()(torch.zeros(3), torch.tensor([0])), "expected input"),
    ],
)
def test_rejects_bad_arguments(call, message):
    with pytest.raises(ValueError, match=message):
        call()
