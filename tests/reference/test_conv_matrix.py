import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given

from reference.conv_matrix import conv_as_matrix, output_size
from reference.strategies import conv_cases


def torch_conv(kernel, image, stride, padding):
    out = F.conv2d(
        torch.from_numpy(image)[None, None],
        torch.from_numpy(kernel)[None, None],
        stride=stride,
        padding=padding,
    )
    return out[0, 0].numpy()


@given(conv_cases())
def test_matches_torch_conv2d(case):
    kernel, image, stride, padding = case
    expected = torch_conv(kernel, image, stride, padding)
    matrix = conv_as_matrix(kernel, image.shape, stride, padding)
    assert matrix.shape == (expected.size, image.size)
    np.testing.assert_allclose(matrix @ image.reshape(-1), expected.reshape(-1), rtol=1e-12, atol=1e-10)


@given(conv_cases())
def test_every_entry_is_zero_or_one_kernel_tap(case):
    kernel, image, stride, padding = case
    labels = np.arange(1.0, kernel.size + 1).reshape(kernel.shape)
    matrix = conv_as_matrix(labels, image.shape, stride, padding)
    assert set(np.unique(matrix)) <= set(range(kernel.size + 1))
    # A tap never appears twice in one row: each output reads each input at most once.
    for row in matrix:
        taps = row[row != 0]
        assert len(taps) == len(set(taps))


def test_published_stride4_padding2_pattern():
    kernel = np.arange(1.0, 10.0).reshape(3, 3)  # w(i,j) = 3i + j + 1
    matrix = conv_as_matrix(kernel, (3, 3), stride=4, padding=2)
    expected = np.zeros((4, 9))
    expected[0, 0] = kernel[2, 2]
    expected[1, 2] = kernel[2, 0]
    expected[2, 6] = kernel[0, 2]
    expected[3, 8] = kernel[0, 0]
    np.testing.assert_array_equal(matrix, expected)


def test_flipped_kernel_gives_a_different_matrix():
    kernel = np.arange(1.0, 10.0).reshape(3, 3)
    flipped = conv_as_matrix(kernel[::-1, ::-1], (3, 3), stride=4, padding=2)
    assert not np.array_equal(flipped, conv_as_matrix(kernel, (3, 3), stride=4, padding=2))


def test_older_stride2_padding1_variant_shape():
    matrix = conv_as_matrix(np.ones((3, 3)), (3, 3), stride=2, padding=1)
    assert matrix.shape == (4, 9)


@pytest.mark.parametrize(
    "n, k, s, p, expected", [(3, 3, 4, 2, 2), (3, 3, 2, 1, 2), (5, 3, 1, 0, 3), (7, 3, 2, 0, 3), (4, 2, 3, 0, 1)]
)
def test_output_size_floors(n, k, s, p, expected):
    assert output_size(n, k, s, p) == expected


@pytest.mark.parametrize(
    "kernel, shape, stride, padding, message",
    [
        (np.ones(3), (3, 3), 1, 0, "2-D"),
        (np.ones((3, 3)), (3,), 1, 0, "input_shape"),
        (np.ones((3, 3)), (3, 3), 0, 0, "stride"),
        (np.ones((3, 3)), (3, 3), 1.5, 0, "stride"),
        (np.ones((3, 3)), (3, 3), 1, -1, "padding"),
        (np.ones((5, 5)), (3, 3), 1, 0, "does not fit"),
    ],
)
def test_rejects_bad_arguments(kernel, shape, stride, padding, message):
    with pytest.raises(ValueError, match=message):
        conv_as_matrix(kernel, shape, stride, padding)
