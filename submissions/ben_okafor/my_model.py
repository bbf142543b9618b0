"""Q6 - a small CNN with depthwise-separable blocks (Ben Okafor)."""
import torch
from torch import nn


def sep_block(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),  # depthwise
        nn.Conv2d(cin, cout, 1, bias=False),                        # pointwise
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1, bias=False),
            nn.BatchNorm2d(16),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(2),        # 16x16
        )
        self.body = nn.Sequential(
            sep_block(16, 32),
            nn.MaxPool2d(2),        # 8x8
            sep_block(32, 64),
            nn.MaxPool2d(2),        # 4x4
            sep_block(64, 64),
        )
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Dropout(0.2),
            nn.Linear(64 * 2 * 2, 10),
        )

    def forward(self, x):
        return self.head(self.body(self.stem(x)))
