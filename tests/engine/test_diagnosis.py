"""Each named mistake the rubric lists is recognised in real student code, end to end.

The bundled submissions cover ten of them (test_grading); these students make the rest.
"""

import shutil
from pathlib import Path

import pytest

from grader.api import grade_submission

ADA = Path(__file__).resolve().parents[2] / "submissions" / "ada_lovelace"
ADA_CONV = (ADA / "conv_matrix.py").read_text()
ADA_SOFTMAX = (ADA / "softmax_classifier.py").read_text()
ADA_FOCAL = (ADA / "focal_loss.py").read_text()


def edit(source: str, old: str, new: str) -> str:
    """Every occurrence of `old` replaced."""
    assert old in source, old
    return source.replace(old, new)


STUDENTS = {
    "ignores_padding": ("conv_matrix.py", edit(
        edit(ADA_CONV, "Ho = (H + 2 * padding - kh)", "Ho = (H - kh)"), "Wo = (W + 2 * padding - kw)", "Wo = (W - kw)"
    ).replace("- padding", ""), ["conv_matrix.published", "conv_matrix.property"]),
    "ignores_stride": ("conv_matrix.py", edit(edit(edit(ADA_CONV, "// stride + 1", "+ 1"), "i * stride", "i"), "j * stride", "j"),
        ["conv_matrix.published", "conv_matrix.property"]),
    "transposed": ("conv_matrix.py", edit(ADA_CONV, "    return A", "    return A.T"),
                   ["conv_matrix.published", "conv_matrix.property"]),
    "wrong_class_subtracted": ("softmax_classifier.py", edit(
        ADA_SOFTMAX, "dz[n, int(labels[n])] -= 1.0", "dz[n, int(np.argmax(p[n]))] -= 1.0"), ["softmax.gradients"]),
    "sum_reduction": ("focal_loss.py", edit(ADA_FOCAL, "return loss.sum() / N", "return loss.sum()"), ["focal_loss.focal"]),
    "not_a_tensor": ("focal_loss.py", edit(ADA_FOCAL, "return torch.tensor(w, dtype=torch.float32)", "return w"),
                     ["focal_loss.reweight_published", "focal_loss.reweight"]),
}


@pytest.mark.parametrize("mistake", sorted(STUDENTS))
def test_the_mistake_is_named(tmp_path, rubric, zygote, mistake):
    filename, source, items = STUDENTS[mistake]
    folder = tmp_path / mistake
    shutil.copytree(ADA, folder)
    (folder / filename).write_text(source)
    result = grade_submission(folder, rubric, zygote=zygote, items=items)
    for item in result.items:
        assert (item.status, item.diagnosis) == ("failed", mistake), item.output
        assert rubric.mistake_hints[mistake] in item.output
