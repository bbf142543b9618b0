# Question 6: my own small CNN
import torch
import torch.nn as nn


class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 32, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(64)
        self.conv3 = nn.Conv2d(64, 96, 3, padding=1)
        self.bn3 = nn.BatchNorm2d(96)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.fc = nn.Linear(96, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))   # 32 x 16 x 16
        x = self.pool(self.relu(self.bn2(self.conv2(x))))   # 64 x 8 x 8
        x = self.relu(self.bn3(self.conv3(x)))              # 96 x 8 x 8
        x = x.mean(dim=(2, 3))                              # global average pool
        return self.fc(x)
