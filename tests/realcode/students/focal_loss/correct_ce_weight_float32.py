"""Correct on the documented float32 logits: the weighted CE comes from F.cross_entropy with
weight=self.weight.float(), which would refuse float64 logits; p_t from the unweighted CE."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    effective_num = 1.0 - torch.pow(beta, torch.tensor(cls_num_list, dtype=torch.float32))
    weights = (1.0 - beta) / effective_num
    weights = weights / weights.sum() * len(cls_num_list)
    return weights


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super(FocalLoss, self).__init__()
        assert gamma >= 0
        self.gamma = gamma
        self.weight = weight

    def forward(self, input, target):
        w = self.weight.float() if self.weight is not None else None
        ce = F.cross_entropy(input, target, weight=w, reduction='none')
        p = torch.exp(-F.cross_entropy(input, target, reduction='none'))
        loss = (1 - p) ** self.gamma * ce
        return loss.mean()
