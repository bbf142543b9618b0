"""Correct: F.nll_loss with weight= and reduction='none' gives w_y * (1 - p_t)**gamma * (-log p_t) per
sample; the mean over the batch follows (the default reduction would divide by the sum of the weights)."""
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
        super(FocalLoss, self).__init__()
        self.gamma = gamma
        self.weight = weight

    def forward(self, input, target):
        log_prob = F.log_softmax(input, dim=-1)
        prob = torch.exp(log_prob)
        loss = F.nll_loss(((1 - prob) ** self.gamma) * log_prob, target, weight=self.weight, reduction='none')
        return loss.mean()
