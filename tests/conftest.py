import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from grader.boundary import TRAINING_PRELOAD, Zygote

# A grade must not depend on the run: same examples, same shrunk counterexample, every time.
settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=200,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("deterministic")

# The suite's own cache of generated inputs, shared with the graders it starts, never the user's.
os.environ["GRADER_CACHE_DIR"] = tempfile.mkdtemp(prefix="grader-test-cache-")


@pytest.fixture(scope="session")
def zygote():
    """One preloaded zygote for the whole run, as a grading process has."""
    zygote = Zygote(TRAINING_PRELOAD)
    yield zygote
    zygote.close()


@pytest.fixture(scope="session")
def bundled_run(tmp_path_factory):
    """`grader grade submissions` with the bundled rubric, run once, as an instructor would: its output folder."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("bundled_run") / "results"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(root / "submissions"), "--rubric",
                           str(root / "rubrics" / "assignment2.yaml"), "--out", str(out), "--jobs", "2"],
                          capture_output=True, text=True, timeout=900, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return out
