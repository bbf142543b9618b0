"""Wrong: F.one_hot(target) without num_classes has max(target) + 1 columns, so a batch that lacks the
last class cannot be multiplied with the (N, C) probabilities."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    effective_num = 1.0 - np.power(beta, cls_num_list)
    weights = (1.0 - beta) / np.array(effective_num)
    return torch.tensor(weights / np.sum(weights) * len(cls_num_list)).float()


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        y = F.one_hot(target).float()
        logp = F.log_softmax(input, dim=1)
        logp_t = (y * logp).sum(dim=1)
        loss = -(1 - logp_t.exp()) ** self.gamma * logp_t
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
