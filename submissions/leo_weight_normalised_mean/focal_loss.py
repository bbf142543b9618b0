# Question 5: class-balanced focal loss
import numpy as np
import torch
import torch.nn as nn


def reweight(cls_num_list, beta=0.9999):
    C = len(cls_num_list)
    w = []
    for n_c in cls_num_list:
        effective_num = 1.0 - beta ** n_c
        w.append((1.0 - beta) / effective_num)
    total = sum(w)
    w = [wc / total * C for wc in w]   # so that the weights add up to C
    return torch.tensor(w, dtype=torch.float32)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.0):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        probs = torch.softmax(input, dim=1)
        log_probs = torch.log_softmax(input, dim=1)
        target = target.long()
        p_t = probs.gather(1, target.view(-1, 1)).view(-1)
        log_p_t = log_probs.gather(1, target.view(-1, 1)).view(-1)

        loss = -((1 - p_t) ** self.gamma) * log_p_t
        if self.weight is not None:
            w = torch.as_tensor(self.weight, dtype=input.dtype, device=input.device)
            loss = loss * w[target]
            return loss.sum() / w[target].sum()
        N = input.shape[0]
        return loss.sum() / N
