"""Wrong: the weights are the effective numbers (1 - beta**n) / (1 - beta) themselves, not their inverse
(frequent classes get the large weights), then normalised to C."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    effective_num = (1.0 - np.power(beta, cls_num_list)) / (1.0 - beta)
    per_cls_weights = effective_num / np.sum(effective_num) * len(cls_num_list)
    return torch.tensor(per_cls_weights).float()


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        logp = F.log_softmax(input, dim=1)
        logp_t = logp[torch.arange(len(target)), target]
        loss = -(1 - logp_t.exp()) ** self.gamma * logp_t
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
