"""Class-balanced focal loss (softmax form), as in Cui et al., CVPR 2019."""

from __future__ import annotations

import numpy as np
import torch


def reweight(cls_num_list, beta: float = 0.9999) -> torch.Tensor:
    """Per-class weights (1 - beta) / (1 - beta**n_c), normalised to sum to C."""
    # Computed and returned in float64: the reference is the precise side of every comparison.
    counts = np.asarray(cls_num_list, dtype=np.float64)
    if counts.ndim != 1 or counts.size == 0 or np.any(counts < 1):
        raise ValueError(f"cls_num_list must be a non-empty list of positive counts, got {cls_num_list!r}")
    if not 0.0 <= beta < 1.0:
        raise ValueError(f"beta must lie in [0, 1), got {beta!r}")
    effective_number = 1.0 - np.power(beta, counts)
    weights = (1.0 - beta) / effective_number
    weights = weights / weights.sum() * counts.size
    return torch.from_numpy(weights)


class FocalLoss(torch.nn.Module):
    """Mean over the batch of w_y * (1 - p_t)**gamma * (-log p_t), with p_t the softmax
    probability of the target class and w_y the weight of that class (1 when weight is None)."""

    # The class weight multiplies the loss but never enters p_t, and the mean divides by N,
    # not by the sum of the weights.

    def __init__(self, weight=None, gamma: float = 0.0):
        super().__init__()
        if gamma < 0:
            raise ValueError(f"gamma must be non-negative, got {gamma!r}")
        self.weight = None if weight is None else torch.as_tensor(weight, dtype=torch.float64)
        self.gamma = float(gamma)

    def forward(self, input: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if input.ndim != 2 or target.shape != (input.shape[0],):
            raise ValueError(f"expected input (N, C) and target (N,), got {tuple(input.shape)} and {tuple(target.shape)}")
        log_probs = torch.log_softmax(input.to(torch.float64), dim=1)
        log_pt = log_probs.gather(1, target.long().unsqueeze(1)).squeeze(1)
        modulator = (1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma
        loss = -modulator * log_pt
        if self.weight is not None:
            loss = loss * self.weight.to(loss.device)[target.long()]
        return loss.mean()
