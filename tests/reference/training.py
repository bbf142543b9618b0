"""A short, seeded training run of the reference CNN on digits, on any device."""

import torch

from reference.data import load_digits, normalize
from reference.focal_loss import FocalLoss, reweight
from reference.my_model import MyModel


def train_and_evaluate(device: str, epochs: int = 2, gamma: float = 1.0) -> float:
    """Test accuracy in eval mode after `epochs` of SGD with the class-balanced focal loss."""
    torch.manual_seed(0)
    data = load_digits()
    images, labels = normalize(data.train.images).to(device), data.train.labels.to(device)
    model = MyModel().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    criterion = FocalLoss(reweight(data.train.class_counts(), 0.999), gamma=gamma)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(epoch)).to(device)
        for start in range(0, len(labels), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            criterion(model(images[batch]), labels[batch]).backward()
            optimizer.step()
    model.eval()
    with torch.no_grad():
        predicted = model(normalize(data.test.images).to(device)).argmax(dim=1).cpu()
    return (predicted == data.test.labels).float().mean().item()
