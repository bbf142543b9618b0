"""A small CNN for 3x32x32 images with 10 classes."""

# The reference for training checks. The last feature map is flattened rather than globally
# pooled: on digits, where a stroke sits is what tells classes apart.

from __future__ import annotations

import torch
from torch import nn


def _block(channels_in: int, channels_out: int) -> list[nn.Module]:
    return [
        nn.Conv2d(channels_in, channels_out, kernel_size=3, padding=1),
        nn.BatchNorm2d(channels_out),
        nn.ReLU(),
        nn.MaxPool2d(2),
    ]


class MyModel(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(*_block(3, 16), *_block(16, 32), *_block(32, 32))
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))
