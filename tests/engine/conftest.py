from pathlib import Path

import pytest

from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def rubric():
    return load_rubric(ROOT / "rubrics" / "assignment2.yaml")
