"""The documents say what the code does: the student API, and the commands people run."""

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reference import conv_matrix, focal_loss, linear_region, mlp, softmax_classifier

ROOT = Path(__file__).resolve().parent.parent
API = [
    conv_matrix.conv_as_matrix,
    linear_region.linear_region,
    softmax_classifier.softmax,
    softmax_classifier.cross_entropy,
    softmax_classifier.softmax_gradients,
    mlp.mlp_forward,
    mlp.mlp_backward,
    focal_loss.reweight,
]


def plain_signature(function) -> str:
    """name(a, b=1) without annotations, as the student docs write it."""
    params = [
        name if p.default is inspect.Parameter.empty else f"{name}={p.default!r}"
        for name, p in inspect.signature(function).parameters.items()
    ]
    return f"{function.__name__}({', '.join(params)})"


@pytest.mark.parametrize("function", API, ids=lambda f: f.__name__)
def test_student_docs_state_the_reference_signature(function):
    assert plain_signature(function) in (ROOT / "docs" / "assignment.md").read_text()


def test_student_docs_state_the_focal_loss_constructor():
    docs = (ROOT / "docs" / "assignment.md").read_text()
    init = inspect.signature(focal_loss.FocalLoss.__init__)
    assert list(init.parameters) == ["self", "weight", "gamma"]
    assert "def __init__(self, weight=None, gamma=0.0)" in docs
    assert "def forward(self, input, target)" in docs


def readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_ci_runs_the_readme_test_command():
    main_job, test_command = readme_commands()[:2]
    assert test_command.endswith("python -m pytest")
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
    assert main_job.startswith(test_command.split("&& .venv/bin/python")[0])


def test_console_script_reports_the_version():
    from grader import __version__

    result = subprocess.run([sys.executable, "-m", "grader", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == f"grader {__version__}"


def test_engine_names_no_assignment():
    words = re.compile(r"\bconv(olution|_as_matrix|_matrix)?\b|focal|softmax|relu|linear.region|\bmlp\b|digits|cifar", re.IGNORECASE)
    offenders = [p.name for p in (ROOT / "grader").rglob("*.py") if words.search(p.read_text())]
    assert offenders == []


def test_hypothesis_runs_are_deterministic_and_strong():
    from hypothesis import settings

    current = settings()
    assert current.derandomize and current.database is None and current.deadline is None
    assert current.max_examples >= 200
