"""Correct: F.one_hot with num_classes, weights broadcast over the one-hot matrix."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    cls_num = torch.tensor(cls_num_list, dtype=torch.float64)
    per_cls_weights = (1 - beta) / (1 - beta ** cls_num)
    C = len(cls_num_list)
    return per_cls_weights * C / per_cls_weights.sum()


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        C = input.shape[1]
        one_hot = F.one_hot(target, num_classes=C).to(input.dtype)
        probs = F.softmax(input, dim=1)
        log_probs = F.log_softmax(input, dim=1)
        w = torch.ones(C, dtype=input.dtype) if self.weight is None else self.weight.to(input.dtype)
        focal = -w * (1 - probs) ** self.gamma * log_probs
        return (focal * one_hot).sum(dim=1).mean()
