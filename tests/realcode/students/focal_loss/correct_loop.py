"""Correct: a python loop over the samples and over the class counts."""
import math
import torch
import torch.nn as nn


def reweight(cls_num_list, beta=0.9999):
    weights = []
    for n in cls_num_list:
        weights.append((1 - beta) / (1 - math.pow(beta, n)))
    s = sum(weights)
    C = len(cls_num_list)
    per_cls_weights = [w * C / s for w in weights]
    return torch.FloatTensor(per_cls_weights)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super(FocalLoss, self).__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        N = input.shape[0]
        log_probs = torch.log_softmax(input, dim=1)
        total = 0
        for i in range(N):
            c = target[i]
            log_pt = log_probs[i, c]
            pt = torch.exp(log_pt)
            w = 1.0 if self.weight is None else self.weight[c]
            total = total - w * (1 - pt) ** self.gamma * log_pt
        return total / N
