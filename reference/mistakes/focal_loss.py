"""Classic mistakes in class-balanced weights and the focal loss.

The loss mutants are classes named by their mistake id, with FocalLoss's
constructor and forward.
"""

import torch
import torch.nn.functional as F

from reference.focal_loss import FocalLoss, reweight


def weights_sum_to_one(cls_num_list, beta=0.9999):
    weights = reweight(cls_num_list, beta)
    return weights / weights.sum()


def not_a_tensor(cls_num_list, beta=0.9999):
    return reweight(cls_num_list, beta).tolist()


class _Mutant(FocalLoss):
    def _parts(self, input, target):
        """Per-sample unweighted focal loss and per-sample class weight, in float64."""
        log_pt = torch.log_softmax(input.to(torch.float64), dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1)
        loss = -((1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma) * log_pt
        weight = torch.ones_like(loss) if self.weight is None else self.weight.to(loss.device)[target.long()]
        return loss, weight


class weighted_pt(_Mutant):
    """p_t recovered from the weighted cross-entropy, so the class weight enters the modulator."""

    def forward(self, input, target):
        weight = None if self.weight is None else self.weight.to(input.device)
        ce = F.cross_entropy(input.to(torch.float64), target.long(), weight=weight, reduction="none")
        return ((1.0 - torch.exp(-ce)) ** self.gamma * ce).mean()


class sum_reduction(_Mutant):
    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum()


class weight_normalised_mean(_Mutant):
    """Divided by the batch's total class weight, as F.cross_entropy's weighted mean is."""

    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum() / weight.sum()
