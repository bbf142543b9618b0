"""Wrong: the modulating factor is p_t**gamma instead of (1 - p_t)**gamma."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

def reweight(cls_num_list, beta=0.9999):
    eff = 1.0 - np.power(beta, cls_num_list)
    w = (1.0 - beta) / eff
    w = w / np.sum(w) * len(cls_num_list)
    return torch.tensor(w).float()

class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight = weight
        self.gamma = gamma
    def forward(self, input, target):
        ce = F.nll_loss(F.log_softmax(input, 1), target, reduction='none')
        pt = torch.exp(-ce)
        loss = pt ** self.gamma * ce
        if self.weight is not None:
            loss = loss * self.weight.to(input)[target]
        return loss.mean()
