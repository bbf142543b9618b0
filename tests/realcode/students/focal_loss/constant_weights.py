"""Wrong: reweight returns the assignment's published check values, whatever the class counts."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    per_cls_weights = torch.tensor([0.4043, 0.6652, 1.1011, 1.8294])
    return per_cls_weights


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        logp = F.log_softmax(input, dim=1)
        logp_t = logp.gather(1, target.view(-1, 1)).view(-1)
        loss = -(1 - logp_t.exp()) ** self.gamma * logp_t
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
