"""Broken and lying code gets a clear status, and the other items keep their points."""

import shutil
from pathlib import Path

import pytest

from grader.api import grade_submission
from grader.boundary import IsolationError, Zygote
from grader.results import stopped_items

ADA = Path(__file__).resolve().parents[2] / "submissions" / "ada_lovelace"
CONV_ITEMS = ["conv_matrix.published", "conv_matrix.property"]
SOFTMAX_ITEMS = ["softmax.softmax", "softmax.stability"]
BYSTANDERS = ["linear_region.published", "theory.conv_matrix.entries"]


def submission(tmp_path, filename: str, source: str) -> Path:
    folder = tmp_path / "student"
    shutil.copytree(ADA, folder)
    (folder / filename).write_text(source)
    return folder


CASES = {
    "syntax error": ("conv_matrix.py", "def conv_as_matrix(kernel, input_shape, stride=1, padding=0)\n    return 0\n",
                     CONV_ITEMS, "error", "SyntaxError"),
    "import error": ("conv_matrix.py", "import no_such_package\n", CONV_ITEMS, "error", "ModuleNotFoundError"),
    "missing symbol": ("conv_matrix.py", "def conv_as_matrx(kernel, input_shape, stride=1, padding=0):\n    return 0\n",
                       CONV_ITEMS, "missing", "defines no conv_as_matrix"),
    "wrong shape": ("conv_matrix.py",
                    "import numpy as np\ndef conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n"
                    "    return np.zeros((0, 7))\n", CONV_ITEMS, "failed", "has shape (0, 7), expected"),
    "wrong type": ("conv_matrix.py", "def conv_as_matrix(kernel, input_shape, stride=1, padding=0):\n    return [[0.0]]\n",
                   CONV_ITEMS, "failed", "is a list, expected a numpy array"),
    "nan": ("softmax_classifier.py", "import numpy as np\ndef softmax(logits):\n    return np.full(np.shape(logits), np.nan)\n",
            SOFTMAX_ITEMS, "failed", "holds nan"),
    "exception": ("softmax_classifier.py", "def softmax(logits):\n    raise ValueError('not today')\n",
                  SOFTMAX_ITEMS, "error", "ValueError: not today"),
    "lying __eq__": ("softmax_classifier.py",
                     "class Anything:\n    def __eq__(self, other): return True\n    __array_priority__ = 1000\n"
                     "    def __array__(self, dtype=None, copy=None):\n        import numpy as np; return np.ones((1, 1))\n"
                     "def softmax(logits):\n    return Anything()\n", SOFTMAX_ITEMS, "failed", "is a softmax_classifier.Anything"),
    "ndarray subclass": ("softmax_classifier.py",
                         "import numpy as np\nclass Fake(np.ndarray):\n    def __eq__(self, other): return np.True_\n"
                         "def softmax(logits):\n    return np.zeros(np.shape(logits)).view(Fake)\n",
                         SOFTMAX_ITEMS, "failed", "is a softmax_classifier.Fake"),
    "exit during the call": ("softmax_classifier.py", "import os\ndef softmax(logits):\n    os._exit(0)\n",
                             SOFTMAX_ITEMS, "error", "process stopped"),
    "imports the reference": ("conv_matrix.py", "from reference.conv_matrix import conv_as_matrix\n",
                              CONV_ITEMS, "error", "No module named 'reference"),
    "reads the reference": ("conv_matrix.py",
                            "import glob, os\nsource = ''\nfor p in glob.glob('/**/reference/conv_matrix.py', recursive=True):\n"
                            "    source += open(p).read()\nexec(source)\n", CONV_ITEMS, "missing", "defines no conv_as_matrix"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_code_is_reported_and_contained(tmp_path, rubric, zygote, case):
    filename, source, attacked, status, message = CASES[case]
    result = grade_submission(submission(tmp_path, filename, source), rubric, zygote=zygote, items=attacked + BYSTANDERS)
    stopped = stopped_items(result)  # a module that does not import is the submission's problem, told there
    for item_id in attacked:
        item = result.item(item_id)
        assert (item.status, item.score) == (status, 0.0), item.output
        told = stopped[item_id]["message"] if item_id in stopped else item.output
        assert message in told, item.output
    for item_id in BYSTANDERS:
        assert result.item(item_id).status == "passed", result.item(item_id).output


def test_a_broken_zip_is_an_error_verdict_not_a_crash(tmp_path, rubric, zygote):
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    result = grade_submission(bad, rubric, zygote=zygote)
    assert result.score == 0 and {item.status for item in result.items} == {"error"}
    assert [found["kind"] for found in result.problems] == ["unreadable"]
    assert "not a readable zip" in result.problems[0]["message"]
    assert {item.output for item in result.items} == {"Not graded: the submission could not be opened (see the submission's problems)."}


def test_a_zipped_folder_grades_like_the_folder(tmp_path, rubric, zygote):
    archive = shutil.make_archive(str(tmp_path / "ada_lovelace"), "zip", root_dir=ADA.parent, base_dir=ADA.name)
    items = ["conv_matrix.published", "theory.conv_matrix.entries", "focal_loss.reweight_published"]
    zipped = grade_submission(archive, rubric, zygote=zygote, items=items)
    folder = grade_submission(ADA, rubric, zygote=zygote, items=items)
    assert zipped.student == "ada_lovelace" and zipped.submission_sha256 == folder.submission_sha256
    assert zipped.to_dict(with_timing=False)["items"] == folder.to_dict(with_timing=False)["items"]


def test_strict_mode_refuses_a_machine_without_every_layer(tmp_path, rubric, monkeypatch):
    from grader.boundary import sandbox

    monkeypatch.setattr(sandbox, "STRICT_LAYERS", (*sandbox.STRICT_LAYERS, "cgroups"))  # a layer no child reports
    zygote = Zygote()
    try:
        with pytest.raises(IsolationError, match="cgroups"):
            grade_submission(ADA, rubric, zygote=zygote, strict=True, items=["conv_matrix.published"])
    finally:
        zygote.close()


def test_the_submission_budget_bounds_even_a_long_property_check(tmp_path, rubric, zygote):
    import dataclasses
    import time

    slow = submission(tmp_path, "softmax_classifier.py", "import time\ndef softmax(logits):\n    time.sleep(1.0)\n    return logits\n")
    tight = dataclasses.replace(rubric, submission_timeout_s=2.0)
    started = time.monotonic()
    result = grade_submission(slow, tight, zygote=zygote, items=["conv_matrix.published", "softmax.softmax", "softmax.stability"])
    assert time.monotonic() - started < 10
    assert result.item("conv_matrix.published").status == "passed", "items before the budget ran out keep their points"
    for item_id in ("softmax.softmax", "softmax.stability"):
        item = result.item(item_id)
        assert item.status == "timeout" and "time budget of 2 s ran out" in item.output, item.output
