"""The correct alternatives an audit must see pass are correct, and only in the dtype they claim."""

import pytest
import torch
from hypothesis import given, settings

from reference import focal_loss, strategies
from reference.alternatives import Float32FocalLoss


@settings(max_examples=100)  # torch calls are the slow part
@given(strategies.focal_inputs())
def test_float32_focal_loss_is_right_on_the_contracts_inputs(inputs):
    weight, gamma, logits, target = inputs["weight"], inputs["gamma"], inputs["input"], inputs["target"]
    assert logits.dtype == torch.float32
    got = Float32FocalLoss(weight, gamma)(logits, target)
    expected = focal_loss.FocalLoss(weight, gamma)(logits, target)
    assert got.ndim == 0 and got.dtype == torch.float32
    assert torch.allclose(got.double(), expected, rtol=1e-4, atol=1e-6 * max(1.0, float(expected.abs())))


def test_float32_focal_loss_refuses_float64_logits_with_weights():
    logits = torch.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]], dtype=torch.float64)
    target = torch.tensor([0, 2])
    weight = focal_loss.reweight([90, 10, 3], 0.99)
    with pytest.raises(RuntimeError):
        Float32FocalLoss(weight, 1.0)(logits, target)
    # The reference takes either dtype: only the alternative is tied to float32.
    assert torch.isfinite(focal_loss.FocalLoss(weight, 1.0)(logits, target))
