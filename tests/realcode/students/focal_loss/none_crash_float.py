"""Formula right for every given weight; crashes when weight is None, the documented default
(self.weight.float() on None), with F.cross_entropy's weight= in reduction='none'."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    n = torch.tensor(cls_num_list).float()
    w = (1 - beta) / (1 - beta ** n)
    return w / w.sum() * len(cls_num_list)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        weighted_ce = F.cross_entropy(input, target, weight=self.weight.float(), reduction='none')
        pt = torch.softmax(input, dim=1).gather(1, target.unsqueeze(1)).squeeze(1)
        return ((1 - pt) ** self.gamma * weighted_ce).mean()
