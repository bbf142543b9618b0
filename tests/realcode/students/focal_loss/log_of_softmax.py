"""Wrong (unstable): torch.log(F.softmax(...)) gives -log(0) = inf once a target's probability underflows
in float32, where log_softmax stays finite."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    effective_num = 1.0 - np.power(beta, cls_num_list)
    per_cls_weights = (1.0 - beta) / np.array(effective_num)
    per_cls_weights = per_cls_weights / np.sum(per_cls_weights) * len(cls_num_list)
    return torch.tensor(per_cls_weights).float()


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        p = F.softmax(input, dim=1)
        p_t = p[torch.arange(input.shape[0]), target]
        loss = -(1 - p_t) ** self.gamma * torch.log(p_t)
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
