"""GPU paths of the reference: the focal loss and the CNN on CUDA."""

import pytest
import torch

from reference.focal_loss import FocalLoss, reweight
from tests.reference.training import train_and_evaluate

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def test_focal_loss_on_cuda_with_weights_held_on_cpu():
    torch.manual_seed(0)
    logits, targets = torch.randn(64, 10, dtype=torch.float64), torch.randint(0, 10, (64,))
    loss = FocalLoss(reweight([500, 300, 200, 120, 80, 50, 30, 20, 12, 8], 0.999), gamma=2.0)
    on_gpu = loss(logits.cuda(), targets.cuda())
    assert on_gpu.device.type == "cuda"
    assert on_gpu.item() == pytest.approx(loss(logits, targets).item(), rel=1e-10)


def test_reference_cnn_learns_digits_on_cuda():
    accuracy = train_and_evaluate("cuda")
    print(f"reference CNN, 2 epochs on digits, CUDA: test accuracy {accuracy:.3f}")
    assert accuracy > 0.9
