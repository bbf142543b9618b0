"""Correct implementations by another route, with the signatures of the reference's.

A rubric audit grades each one: an item that takes points from one would fail
a correct student.
"""

import torch
import torch.nn.functional as F

from reference.linear_region import _linear_region


def kink_active(weights, biases, x0):
    """relu'(0) = 1: a unit whose pre-activation is exactly 0 counts as active. Only a kink tells."""
    return _linear_region(weights, biases, x0, kink_active=True)


class Float32FocalLoss(torch.nn.Module):
    """Right in the dtype the contract gives, float32 logits, and only there.

    The weighted cross-entropy's `weight=self.weight.float()` must match the logits' dtype, so
    float64 logits raise; this is common, correct code for a model trained in float32.
    """

    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        weight = None if self.weight is None else self.weight.float()
        weighted_ce = F.cross_entropy(input, target, weight=weight, reduction="none")  # w_y * -log p_t
        p_t = torch.exp(-F.cross_entropy(input, target, reduction="none"))
        return ((1.0 - p_t).clamp(min=0.0) ** self.gamma * weighted_ce).mean()
