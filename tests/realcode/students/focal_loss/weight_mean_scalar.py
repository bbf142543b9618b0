"""Wrong: each loss is multiplied by the mean of all class weights rather than by its own class weight."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

def reweight(cls_num_list, beta=0.9999):
    eff = 1.0 - np.power(beta, cls_num_list)
    w = (1.0 - beta) / eff
    w = w / np.sum(w) * len(cls_num_list)
    return torch.from_numpy(w).float()

class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight = weight
        self.gamma = gamma
    def forward(self, input, target):
        log_prob = F.log_softmax(input, dim=-1)
        logpt = log_prob[torch.arange(input.size(0)), target]
        pt = logpt.exp()
        loss = -((1 - pt) ** self.gamma) * logpt
        if self.weight is not None:
            loss = self.weight.to(input).mean() * loss    # apply class weighting
        return loss.mean()
