# Question 6: my own small CNN (two 5x5 conv layers, like LeNet, with batch norm)
import torch.nn as nn


class MyModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 12, 5, padding=2)
        self.bn1 = nn.BatchNorm2d(12)
        self.conv2 = nn.Conv2d(12, 24, 5, padding=2)
        self.bn2 = nn.BatchNorm2d(24)
        self.pool = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.fc1 = nn.Linear(24 * 8 * 8, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = self.pool(self.relu(self.bn1(self.conv1(x))))   # 12 x 16 x 16
        x = self.pool(self.relu(self.bn2(self.conv2(x))))   # 24 x 8 x 8
        x = x.view(x.shape[0], -1)
        return self.fc2(self.relu(self.fc1(x)))
