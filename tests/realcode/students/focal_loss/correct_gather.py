"""Correct: log_softmax and gather, weight=None handled, reweight in numpy."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    n = np.array(cls_num_list, dtype=np.float64)
    effective_num = 1.0 - np.power(beta, n)
    per_cls_weights = (1.0 - beta) / effective_num
    per_cls_weights = per_cls_weights / np.sum(per_cls_weights) * len(cls_num_list)
    return torch.from_numpy(per_cls_weights).float()


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        assert gamma >= 0
        self.gamma = gamma
        self.weight = weight

    def forward(self, input, target):
        logp = F.log_softmax(input, dim=1)
        logp_t = logp.gather(1, target.view(-1, 1)).squeeze(1)
        p_t = logp_t.exp()
        loss = -(1 - p_t) ** self.gamma * logp_t
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
