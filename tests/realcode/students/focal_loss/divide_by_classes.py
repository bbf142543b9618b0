"""Wrong: the summed loss is divided by the number of classes C instead of the batch size N."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    n = torch.tensor(cls_num_list, dtype=torch.float64)
    w = (1 - beta) / (1 - torch.pow(beta, n))
    return w / torch.sum(w) * len(cls_num_list)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        num_classes = input.size(1)
        logpt = F.log_softmax(input, dim=1).gather(1, target.view(-1, 1)).view(-1)
        pt = logpt.exp()
        loss = -((1 - pt) ** self.gamma) * logpt
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.sum() / num_classes
