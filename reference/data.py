"""Datasets for training checks: embedded digits, local CIFAR-10, long-tailed subsets.

These are read by the trusted process only. The CIFAR-10 reader never executes
code from a pickle: it admits only the globals needed to rebuild numpy arrays.
"""

from __future__ import annotations

import importlib.resources
import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

NUM_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2023, 0.1994, 0.2010)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CIFAR10_TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR10_TEST_FILE = "test_batch"
DIGITS_TEST_FRACTION = 0.2
DIGITS_SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """Images as float32 (N, 3, 32, 32) in [0, 1]; labels as int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.labels.shape[0]

    def subset(self, indices) -> "Split":
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return Split(self.images[index], self.labels[index])

    def class_counts(self, num_classes: int = NUM_CLASSES) -> list[int]:
        return torch.bincount(self.labels, minlength=num_classes).tolist()


@dataclass(frozen=True)
class Dataset:
    name: str
    train: Split
    test: Split


def normalize(images: torch.Tensor, mean=CIFAR10_MEAN, std=CIFAR10_STD) -> torch.Tensor:
    """Per-channel standardisation of (N, 3, H, W) images."""
    mean_t = torch.tensor(mean, dtype=images.dtype).view(1, -1, 1, 1)
    std_t = torch.tensor(std, dtype=images.dtype).view(1, -1, 1, 1)
    return (images - mean_t) / std_t


# ---- embedded digits -------------------------------------------------------


def load_digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as shipped in this package: uint8 (1797, 8, 8) in [0, 16], labels."""
    blob = importlib.resources.files("reference").joinpath("data/digits.npz").read_bytes()
    with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
        return archive["images"], archive["labels"]


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    # RandomState's stream is frozen across numpy releases, so the split never drifts.
    rng = np.random.RandomState(seed)
    train, test = [], []
    for cls in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == cls))
        n_test = int(round(len(members) * test_fraction))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def _to_cifar_shape(images_8x8: np.ndarray) -> torch.Tensor:
    scaled = torch.from_numpy(images_8x8.astype(np.float32) / 16.0).unsqueeze(1)
    resized = F.interpolate(scaled, size=IMAGE_SHAPE[1:], mode="bilinear", align_corners=False)
    return resized.clamp(0.0, 1.0).expand(-1, IMAGE_SHAPE[0], -1, -1).contiguous()


def load_digits() -> Dataset:
    """Digits resized to 3x32x32, split 80/20 per class with a fixed seed."""
    images, labels = load_digits_raw()
    train_idx, test_idx = _stratified_split(labels, DIGITS_TEST_FRACTION, DIGITS_SPLIT_SEED)
    pictures = _to_cifar_shape(images)
    targets = torch.from_numpy(labels.astype(np.int64))
    return Dataset(
        name="digits",
        train=Split(pictures[train_idx], targets[train_idx]),
        test=Split(pictures[test_idx], targets[test_idx]),
    )


# ---- CIFAR-10 from a local directory ---------------------------------------


def _numpy_global(name: str):
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    raise ImportError(name)


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    # Python 3 pickles bytes this way at protocol 2; no other codec is needed.
    if encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing codec {encoding!r}")
    return text.encode("latin1")


_ALLOWED_GLOBALS = {
    ("_codecs", "encode"): lambda: _latin1_encode,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_global("_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): lambda: _numpy_global("_reconstruct"),
    # Re-saved copies store labels as numpy integers.
    ("numpy.core.multiarray", "scalar"): lambda: _numpy_global("scalar"),
    ("numpy._core.multiarray", "scalar"): lambda: _numpy_global("scalar"),
}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """Rebuilds dicts, lists, bytes, numpy arrays and scalars; refuses every other global."""

    def find_class(self, module: str, name: str):
        factory = _ALLOWED_GLOBALS.get((module, name))
        if factory is None:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR-10 batch holds only arrays and lists"
            )
        return factory()


def _read_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with path.open("rb") as handle:
            batch = _ArrayOnlyUnpickler(handle, encoding="bytes").load()
    except FileNotFoundError:
        raise FileNotFoundError(f"CIFAR-10 batch missing: {path}") from None
    except (pickle.UnpicklingError, EOFError, ValueError) as error:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: {error}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise ValueError(f"{path} is not a CIFAR-10 python batch: expected a dict with b'data' and b'labels'")
    data = np.asarray(batch[b"data"])
    labels = np.asarray(batch[b"labels"], dtype=np.int64)
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
        raise ValueError(f"{path}: data {data.dtype} {data.shape} with {len(labels)} labels is not CIFAR-10's layout")
    if labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES):
        raise ValueError(f"{path}: labels outside [0, {NUM_CLASSES})")
    return data.reshape(-1, *IMAGE_SHAPE), labels


def _batches_dir(directory: Path) -> Path:
    for candidate in (directory, directory / "cifar-10-batches-py"):
        if (candidate / CIFAR10_TEST_FILE).is_file():
            return candidate
    raise FileNotFoundError(
        f"no CIFAR-10 python batches under {directory}: expected {CIFAR10_TEST_FILE} and "
        f"data_batch_1..5 there or in its cifar-10-batches-py/ folder"
    )


def _split_from_batches(paths) -> Split:
    parts = [_read_batch(path) for path in paths]
    images = np.concatenate([images for images, _ in parts])
    labels = np.concatenate([labels for _, labels in parts])
    return Split(torch.from_numpy(images).float().div_(255.0), torch.from_numpy(labels))


def load_cifar10(directory) -> Dataset:
    """CIFAR-10's python batches from an instructor-named local directory."""
    root = _batches_dir(Path(directory))
    return Dataset(
        name="cifar10",
        train=_split_from_batches([root / name for name in CIFAR10_TRAIN_FILES]),
        test=_split_from_batches([root / CIFAR10_TEST_FILE]),
    )


# ---- long-tailed subsets ---------------------------------------------------


def long_tail_counts(n_max: int, ratio: float, num_classes: int = NUM_CLASSES) -> list[int]:
    """n_i = int(n_max * ratio**(i / (C - 1))); ratio is n_min / n_max, e.g. 0.01."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must lie in (0, 1] (n_min / n_max), got {ratio!r}")
    if num_classes < 2 or n_max < 1:
        raise ValueError(f"need at least 2 classes and n_max >= 1, got {num_classes} and {n_max}")
    return [int(n_max * ratio ** (i / (num_classes - 1))) for i in range(num_classes)]


def long_tail_indices(labels, ratio: float, seed: int = 0, n_max: int | None = None,
                      num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Indices of a long-tailed subset: class i keeps long_tail_counts(...)[i] samples.

    n_max defaults to the smallest class's size, so every class can supply its share.
    """
    labels = np.asarray(labels)
    available = np.bincount(labels, minlength=num_classes)
    if n_max is None:
        n_max = int(available.min())
    counts = long_tail_counts(n_max, ratio, num_classes)
    short = [(cls, need, int(available[cls])) for cls, need in enumerate(counts) if need > available[cls]]
    if short:
        raise ValueError(f"not enough samples for a long tail with n_max={n_max}: (class, needed, have) {short}")
    rng = np.random.RandomState(seed)
    chosen = [rng.permutation(np.flatnonzero(labels == cls))[:need] for cls, need in enumerate(counts)]
    return np.sort(np.concatenate(chosen))


def long_tail(split: Split, ratio: float, seed: int = 0, n_max: int | None = None) -> Split:
    return split.subset(long_tail_indices(split.labels.numpy(), ratio, seed, n_max))


# ---- what a training check receives ------------------------------------------


def training_data(source: str = "digits", imbalance: float | None = None, seed: int = 0) -> dict:
    """The arrays a rubric's training item trains and tests on.

    source: "digits" (embedded, resized to 3x32x32) or "cifar10:PATH" (a local copy).
    imbalance: n_max / n_min of a long-tailed training set, e.g. 100; the test set stays balanced.
    Images stay unnormalised (float in [0, 1] or uint8) so that CIFAR-10 fits in one message;
    the mean and std travel with them and are applied batch by batch.
    """
    if source == "digits":
        dataset = load_digits()
    elif source.startswith("cifar10:"):
        dataset = load_cifar10(source.partition(":")[2])
    else:
        raise ValueError(f"unknown data source {source!r}: use 'digits' or 'cifar10:PATH'")
    train = dataset.train
    if imbalance is not None:
        if not imbalance >= 1:
            raise ValueError(f"imbalance is n_max / n_min and must be at least 1, got {imbalance!r}")
        train = long_tail(train, 1.0 / imbalance, seed=seed)

    def pixels(images: torch.Tensor) -> np.ndarray:
        if dataset.name == "cifar10":  # back to bytes: a quarter of the float size
            return images.mul(255.0).round_().to(torch.uint8).numpy()
        return images.numpy()

    name = dataset.name + (f", long-tailed {imbalance:g}:1" if imbalance is not None else "")
    return {
        "name": name,
        "classes": [str(c) for c in range(NUM_CLASSES)] if dataset.name == "digits" else list(CIFAR10_CLASSES),
        "train_images": pixels(train.images), "train_labels": train.labels.numpy(),
        "test_images": pixels(dataset.test.images), "test_labels": dataset.test.labels.numpy(),
        "mean": list(CIFAR10_MEAN), "std": list(CIFAR10_STD),
    }
