"""Wrong: n**beta instead of beta**n in the effective number (a class with one sample gives 0/0, NaN)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def reweight(cls_num_list, beta=0.9999):
    n = torch.tensor(cls_num_list, dtype=torch.float32)
    effective_num = 1.0 - n ** beta
    w = (1.0 - beta) / effective_num
    return w / w.sum() * len(cls_num_list)


class FocalLoss(nn.Module):
    def __init__(self, weight=None, gamma=0.):
        super().__init__()
        self.weight = weight
        self.gamma = gamma

    def forward(self, input, target):
        logp = F.log_softmax(input, dim=1)
        logp_t = logp.gather(1, target[:, None])[:, 0]
        loss = -(1 - logp_t.exp()) ** self.gamma * logp_t
        if self.weight is not None:
            loss = loss * self.weight[target]
        return loss.mean()
