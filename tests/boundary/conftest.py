import shutil
import tempfile
from pathlib import Path

import pytest

from grader.boundary import Plan, StudentProcess, default_read_only

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def student(zygote, tmp_path):
    """Factory: a sandboxed child over a scratch folder holding the given files."""
    opened = []

    def start(files: dict[str, str], **plan_options) -> StudentProcess:
        scratch = tempfile.mkdtemp(prefix="grader-test-")
        for name, text in files.items():
            Path(scratch, name).write_text(text)
        hide = [str(ROOT / "reference"), str(ROOT / "rubrics"), str(ROOT / "submissions"), str(tmp_path)]
        plan = Plan(scratch=scratch, hide=hide, read_only=default_read_only(), **plan_options)
        process = StudentProcess(zygote, plan, blocked=["reference"])
        opened.append((process, scratch))
        return process

    yield start
    for process, scratch in opened:
        process.close()
        shutil.rmtree(scratch, ignore_errors=True)
