import torch

from reference.my_model import MyModel
from tests.reference.training import train_and_evaluate


def test_maps_cifar_shaped_batches_to_ten_logits():
    model = MyModel().eval()
    assert model(torch.zeros(5, 3, 32, 32)).shape == (5, 10)
    assert sum(p.numel() for p in model.parameters()) < 50_000


def test_learns_digits_in_two_epochs_on_cpu_and_repeats_exactly():
    torch.set_num_threads(1)
    first = train_and_evaluate("cpu")
    assert first > 0.9, "the reference CNN and the digits data must make a learnable task"
    assert train_and_evaluate("cpu") == first, "seeded single-threaded CPU training is deterministic"
