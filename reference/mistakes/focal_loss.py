"""Classic mistakes in class-balanced weights and the focal loss.

The loss mutants are classes named by their mistake id, with FocalLoss's
constructor and forward.
"""

import numpy as np
import torch
import torch.nn.functional as F

from reference.focal_loss import FocalLoss, reweight


def weights_sum_to_one(cls_num_list, beta=0.9999):
    weights = reweight(cls_num_list, beta)
    return weights / weights.sum()


def not_a_tensor(cls_num_list, beta=0.9999):
    return reweight(cls_num_list, beta).tolist()


def weights_not_normalised(cls_num_list, beta=0.9999):
    """(1 - beta) / (1 - beta**n) as it is, never scaled to sum to C."""
    counts = np.asarray(cls_num_list, dtype=np.float64)
    return torch.from_numpy((1.0 - beta) / (1.0 - np.power(beta, counts)))


def effective_number_not_inverted(cls_num_list, beta=0.9999):
    """The effective number (1 - beta**n) / (1 - beta) taken as the weight, normalised: frequent classes weigh most."""
    counts = np.asarray(cls_num_list, dtype=np.float64)
    effective = (1.0 - np.power(beta, counts)) / (1.0 - beta)
    return torch.from_numpy(effective / effective.sum() * counts.size)


def n_to_the_beta(cls_num_list, beta=0.9999):
    """n**beta for beta**n. At n = 1, 1 - 1**beta = 0: that weight is inf, and normalising makes it nan."""
    counts = np.asarray(cls_num_list, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = (1.0 - beta) / (1.0 - np.power(counts, beta))
        return torch.from_numpy(weights / weights.sum() * counts.size)


class _Mutant(FocalLoss):
    def _parts(self, input, target):
        """Per-sample unweighted focal loss and per-sample class weight, in float64."""
        log_pt = torch.log_softmax(input.to(torch.float64), dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1)
        loss = -((1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma) * log_pt
        weight = torch.ones_like(loss) if self.weight is None else self.weight.to(loss.device)[target.long()]
        return loss, weight


class weighted_pt(_Mutant):
    """p_t recovered from the weighted cross-entropy, so the class weight enters the modulator."""

    def forward(self, input, target):
        weight = None if self.weight is None else self.weight.to(input.device)
        ce = F.cross_entropy(input.to(torch.float64), target.long(), weight=weight, reduction="none")
        return ((1.0 - torch.exp(-ce)) ** self.gamma * ce).mean()


class sum_reduction(_Mutant):
    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum()


class weight_normalised_mean(_Mutant):
    """Divided by the batch's total class weight, as F.cross_entropy's weighted mean is."""

    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum() / weight.sum()


class mean_over_entries(_Mutant):
    """The per-sample losses laid out in an (N, C) array (zero off the target) and averaged over all N*C entries."""

    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum() / input.numel()


class divided_by_classes(_Mutant):
    """Summed over the batch and divided by the number of classes C instead of N."""

    def forward(self, input, target):
        loss, weight = self._parts(input, target)
        return (weight * loss).sum() / input.shape[1]


class sigmoid_focal(_Mutant):
    """The original paper's code: a sigmoid (one-vs-all) focal loss per class, each weighted by the sample's
    class weight, summed over the classes and averaged over the N samples."""

    def _entries(self, input, target):
        logits = input.to(torch.float64)
        labels = F.one_hot(target.long(), logits.shape[1]).to(torch.float64)
        bce = F.binary_cross_entropy_with_logits(logits, labels, reduction="none")
        p = torch.sigmoid(logits)
        p_t = labels * p + (1.0 - labels) * (1.0 - p)
        _, weight = self._parts(input, target)
        return weight.unsqueeze(1) * (1.0 - p_t) ** self.gamma * bce

    def forward(self, input, target):
        return self._entries(input, target).sum() / input.shape[0]


class sigmoid_focal_mean_over_entries(sigmoid_focal):
    """The sigmoid form averaged over all N*C entries, as binary_cross_entropy's default mean does."""

    def forward(self, input, target):
        return self._entries(input, target).mean()


class one_hot_without_num_classes(_Mutant):
    """F.one_hot(target) without num_classes: max(target) + 1 columns, multiplied with the (N, C) log-probabilities.

    Right when the batch holds the last class. With only class 0 the single column broadcasts, so
    log p_t becomes the sum of all C log-probabilities; any other width raises, as real code does.
    """

    def forward(self, input, target):
        labels = F.one_hot(target.long()).to(torch.float64)
        log_pt = (labels * torch.log_softmax(input.to(torch.float64), dim=1)).sum(dim=1)
        loss = -((1.0 - log_pt.exp()).clamp(min=0.0) ** self.gamma) * log_pt
        _, weight = self._parts(input, target)
        return (weight * loss).mean()


class modulator_of_pt(_Mutant):
    """The modulator written p_t**gamma instead of (1 - p_t)**gamma: easy examples weighted up, not down."""

    def forward(self, input, target):
        _, weight = self._parts(input, target)
        log_pt = torch.log_softmax(input.to(torch.float64), dim=1).gather(1, target.long().unsqueeze(1)).squeeze(1)
        return (-(log_pt.exp() ** self.gamma) * log_pt * weight).mean()
