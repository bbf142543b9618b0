"""Wrong: the per-sample losses are summed over the batch, not averaged."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    effective_num = 1.0 - np.power(beta, cls_num_list)
    weights = (1.0 - beta) / effective_num
    weights = weights / np.sum(weights) * len(cls_num_list)
    return torch.tensor(weights, dtype=torch.float32)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        ce = F.cross_entropy(input, target, reduction='none')
        pt = torch.exp(-ce)
        focal = (1 - pt) ** self.gamma * ce
        if self.weight is not None:
            focal = self.weight[target] * focal
        return torch.sum(focal)
