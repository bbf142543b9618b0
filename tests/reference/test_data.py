import os
import pickle

import numpy as np
import pytest
import torch

from reference import data


def test_embedded_digits_are_scikit_learns():
    sklearn_datasets = pytest.importorskip("sklearn.datasets", reason="scikit-learn is in the test extra")
    images, labels = data.load_digits_raw()
    digits = sklearn_datasets.load_digits()
    np.testing.assert_array_equal(images, digits.images)
    np.testing.assert_array_equal(labels, digits.target)


def test_digits_are_cifar_shaped_and_split_per_class():
    dataset = data.load_digits()
    for split in (dataset.train, dataset.test):
        assert split.images.dtype == torch.float32 and split.images.shape[1:] == (3, 32, 32)
        assert split.labels.dtype == torch.int64
        assert 0.0 <= split.images.min() and split.images.max() <= 1.0
        assert torch.equal(split.images[:, 0], split.images[:, 2]), "grey images replicated to 3 channels"
    assert len(dataset.train) + len(dataset.test) == 1797
    for train_count, test_count in zip(dataset.train.class_counts(), dataset.test.class_counts()):
        assert test_count / (train_count + test_count) == pytest.approx(data.DIGITS_TEST_FRACTION, abs=0.01)


def test_digits_split_is_disjoint_complete_and_fixed():
    _, labels = data.load_digits_raw()
    train, test = data._stratified_split(labels, 0.2, seed=0)
    assert not set(train) & set(test)
    assert sorted(np.concatenate([train, test])) == list(range(len(labels)))
    again = data._stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(train, again[0]) and np.array_equal(test, again[1])
    assert torch.equal(data.load_digits().test.images, data.load_digits().test.images)


def test_resized_digit_keeps_the_picture():
    images, _ = data.load_digits_raw()
    resized = data._to_cifar_shape(images[:1])[0, 0]
    # Averaging 4x4 blocks of the 32x32 picture must land close to the 8x8 original.
    pooled = resized.reshape(8, 4, 8, 4).mean(dim=(1, 3)).numpy()
    assert np.corrcoef(pooled.ravel(), images[0].ravel() / 16)[0, 1] > 0.95


def test_normalize_uses_cifar_statistics():
    images = torch.tensor(data.CIFAR10_MEAN).view(1, 3, 1, 1).expand(2, 3, 4, 4)
    assert torch.allclose(data.normalize(images), torch.zeros(2, 3, 4, 4), atol=1e-7)


def test_long_tail_counts_are_the_courses():
    assert data.long_tail_counts(5000, 0.01) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert data.long_tail_counts(100, 1.0, 4) == [100] * 4


def test_long_tail_indices_keep_the_requested_counts():
    labels = np.repeat(np.arange(10), 200)
    chosen = data.long_tail_indices(labels, ratio=0.1, seed=3)
    assert np.bincount(labels[chosen], minlength=10).tolist() == data.long_tail_counts(200, 0.1)
    assert np.array_equal(chosen, data.long_tail_indices(labels, ratio=0.1, seed=3))
    assert not np.array_equal(chosen, data.long_tail_indices(labels, ratio=0.1, seed=4))


def test_long_tail_of_digits_split():
    train = data.load_digits().train
    tail = data.long_tail(train, ratio=0.1)
    counts = tail.class_counts()
    assert counts == data.long_tail_counts(min(train.class_counts()), 0.1)
    assert counts[0] > counts[-1]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: data.long_tail_counts(10, 0.0), "ratio"),
        (lambda: data.long_tail_counts(10, 0.5, num_classes=1), "at least 2 classes"),
        (lambda: data.long_tail_indices(np.repeat(np.arange(10), 5), 0.1, n_max=6), "not enough samples"),
    ],
)
def test_long_tail_rejects_impossible_requests(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def write_batch(path, images, labels, protocol=2):
    batch = {b"batch_label": b"fake", b"data": images.reshape(len(images), -1), b"labels": list(labels)}
    path.write_bytes(pickle.dumps(batch, protocol=protocol))


@pytest.fixture
def cifar_dir(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.RandomState(0)
    for name in (*data.CIFAR10_TRAIN_FILES, data.CIFAR10_TEST_FILE):
        write_batch(root / name, rng.randint(0, 256, (6, 3, 32, 32), dtype=np.uint8), rng.randint(0, 10, 6))
    return tmp_path


@pytest.mark.parametrize("protocol", [2, 4])
def test_reads_cifar_batches_from_the_folder_or_its_parent(cifar_dir, protocol):
    images = np.arange(2 * 3072, dtype=np.uint32).astype(np.uint8).reshape(2, 3, 32, 32)
    write_batch(cifar_dir / "cifar-10-batches-py" / data.CIFAR10_TEST_FILE, images, [7, 1], protocol)
    for where in (cifar_dir, cifar_dir / "cifar-10-batches-py"):
        dataset = data.load_cifar10(where)
        assert len(dataset.train) == 30 and dataset.train.images.shape[1:] == (3, 32, 32)
        assert dataset.test.labels.tolist() == [7, 1]
        assert torch.equal(dataset.test.images, torch.from_numpy(images).float() / 255)


class Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_refuses_a_pickle_that_would_run_code(cifar_dir, tmp_path):
    marker = tmp_path / "pwned"
    batch_path = cifar_dir / "cifar-10-batches-py" / "data_batch_1"
    batch_path.write_bytes(pickle.dumps({b"data": Exploit(str(marker)), b"labels": []}))
    with pytest.raises(ValueError, match="refusing to load posix.mkdir"):
        data.load_cifar10(cifar_dir)
    assert not marker.exists()


def test_explains_a_missing_or_broken_dataset(cifar_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no CIFAR-10 python batches"):
        data.load_cifar10(tmp_path / "nowhere")
    (cifar_dir / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        data.load_cifar10(cifar_dir)
    (cifar_dir / "cifar-10-batches-py" / "data_batch_3").write_bytes(pickle.dumps({b"data": np.zeros((2, 5), np.uint8), b"labels": [0, 1]}))
    with pytest.raises(ValueError, match="layout"):
        data.load_cifar10(cifar_dir)
