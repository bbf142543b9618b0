"""Shared by the hostile suite: a copy of a correct submission with one attack planted in it.

Each case grades with the bundled rubric, restricted to the attacked items and a few
bystanders from other files: the attack must cost the attacked items their points, with a
status and message a TA understands, and cost nothing else.
"""

import shutil
from pathlib import Path

import pytest

from grader.api import grade_submission
from grader.results import SubmissionResult, stopped_items
from grader.rubric import load_rubric
from tests.machine import can_have

ROOT = Path(__file__).resolve().parents[2]
ADA = ROOT / "submissions" / "ada_lovelace"
RUBRIC = ROOT / "rubrics" / "assignment2.yaml"
NOT_PASSED = ("failed", "error", "timeout", "missing")

# One quick item per file: they must keep their points whatever another file does.
BYSTANDERS = {
    "conv_matrix.py": "conv_matrix.published",
    "linear_region.py": "linear_region.published",
    "softmax_classifier.py": "softmax.stability",
    "focal_loss.py": "focal_loss.reweight_published",
    "answers.yaml": "theory.conv_matrix.shape",
    "my_model.py": "cnn.checkpoint",
}


@pytest.fixture(autouse=True)
def _needs_layers(request):
    """A test marked layers(...) says which layers it depends on. It is skipped only where the machine
    cannot have them (asked of the kernel, not of the grader): a grader that fails to apply one fails it."""
    marker = request.node.get_closest_marker("layers")
    if marker:
        missing = [name for name in marker.args if not can_have()[name]]
        if missing:
            pytest.skip(f"this machine lacks the isolation layer(s) {', '.join(missing)} (see grader doctor)")


@pytest.fixture(scope="session")
def bundled():
    return load_rubric(RUBRIC)


def plant(tmp_path: Path, files: dict, name: str = "student") -> Path:
    """A copy of ada_lovelace's correct submission with `files` (relative path -> str or bytes) replaced."""
    folder = tmp_path / name
    shutil.copytree(ADA, folder)
    for relative, content in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return folder


def bystanders(*attacked_files: str) -> list[str]:
    return [item for file, item in BYSTANDERS.items() if file not in attacked_files]


def grade(path, rubric, zygote, attacked: list[str], others: list[str], **kwargs) -> SubmissionResult:
    return grade_submission(path, rubric, zygote=zygote, items=[*attacked, *others], **kwargs)


def assert_contained(result: SubmissionResult, attacked: list[str], others: list[str],
                     statuses=NOT_PASSED, message: str | None = None) -> None:
    """Attacked items get 0 with one of `statuses` and an explanation; every other item keeps its points.
    An item a submission-level problem stopped (its module raised on import) is explained by that problem."""
    stopped = stopped_items(result)
    for item_id in attacked:
        item = result.item(item_id)
        assert item.score == 0 and item.status in statuses, f"{item_id}: {item.status} {item.score}\n{item.output}"
        assert item.output.strip(), f"{item_id} says nothing about why"
        told = item.output + (f"\n{stopped[item_id]['message']}" if item_id in stopped else "")
        if message is not None:
            assert message in told, f"{message!r} not in {item_id}'s output:\n{told}"
    for item_id in others:
        item = result.item(item_id)
        assert item.status == "passed" and item.score == item.max_score, f"bystander {item_id}: {item.status}\n{item.output}"
