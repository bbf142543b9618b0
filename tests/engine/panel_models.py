"""Models students submit for the CNN question, to calibrate and test the training items.

Five sound architectures of the kinds seen in the course (3x32x32 in, 10 logits out), and two
that learn nothing about the image. A submission is this file with `MyModel = <class>` appended,
so each is graded exactly as a student's my_model.py is.
"""

import torch
from torch import nn


class LeNet(nn.Module):
    """LeCun's LeNet-5 as the tutorials write it: no batch norm, 5x5 kernels, three linear layers."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
                                        nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def conv_bn(channels_in, channels_out, **options):
    return [nn.Conv2d(channels_in, channels_out, 3, padding=1, **options), nn.BatchNorm2d(channels_out), nn.ReLU()]


class GapCNN(nn.Module):
    """The textbook model: three conv-BatchNorm-ReLU blocks with max-pooling, global average pooling, one linear layer."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*conv_bn(3, 16), nn.MaxPool2d(2), *conv_bn(16, 32), nn.MaxPool2d(2),
                                      *conv_bn(32, 64), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class VGG(nn.Module):
    """VGG-style: two 3x3 convolutions per stage, three stages, a hidden linear layer with dropout."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*conv_bn(3, 16), *conv_bn(16, 16), nn.MaxPool2d(2),
                                      *conv_bn(16, 32), *conv_bn(32, 32), nn.MaxPool2d(2),
                                      *conv_bn(32, 64), *conv_bn(64, 64), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(64 * 4 * 4, 128), nn.ReLU(), nn.Dropout(0.5),
                                        nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class BasicBlock(nn.Module):
    def __init__(self, channels_in, channels_out, stride):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False),
                                  nn.BatchNorm2d(channels_out), nn.ReLU(),
                                  nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False), nn.BatchNorm2d(channels_out))
        self.shortcut = nn.Identity() if stride == 1 and channels_in == channels_out else nn.Sequential(
            nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))

    def forward(self, x):
        return torch.relu(self.body(x) + self.shortcut(x))


class ResNet(nn.Module):
    """A small residual network (ResNet-8 for 32x32 images): a stem, three basic blocks, global average pooling."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(BasicBlock(16, 16, 1), BasicBlock(16, 32, 2), BasicBlock(32, 64, 2))
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


def separable(channels_in, channels_out, stride):
    return [nn.Conv2d(channels_in, channels_in, 3, stride, 1, groups=channels_in, bias=False),
            nn.BatchNorm2d(channels_in), nn.ReLU(),
            nn.Conv2d(channels_in, channels_out, 1, bias=False), nn.BatchNorm2d(channels_out), nn.ReLU()]


class Separable(nn.Module):
    """MobileNet-style: a full convolution, then depthwise-separable blocks that stride down, global average pooling."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(*conv_bn(3, 32, bias=False), *separable(32, 64, 2), *separable(64, 128, 2),
                                      *separable(128, 128, 2))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class Constant(nn.Module):
    """The same logits for every image, never trained (the parameter only gives the optimizer something to hold)."""

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return torch.zeros(x.shape[0], 10) + 0 * self.unused


class BiasOnly(nn.Module):
    """Ten parameters: a learned constant, so it can only learn the class frequencies of the training set."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        return self.bias.expand(x.shape[0], 10)


SOUND = ("LeNet", "GapCNN", "VGG", "ResNet", "Separable")
LEARN_NOTHING = ("Constant", "BiasOnly")
