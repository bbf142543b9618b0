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
# One grading secret for the whole run and the graders it starts: final grading's draws are the same in
# every process, and never the public draw a student kit holds. Tests of the secret itself set their own.
_SECRET = Path(tempfile.mkdtemp(prefix="grader-test-secret-")) / "grading.secret"
_SECRET.write_text("a grading secret for the test suite\n")
os.environ["GRADER_SECRET_FILE"] = str(_SECRET)


@pytest.fixture(scope="session")
def zygote():
    """One preloaded zygote for the whole run, as a grading process has."""
    zygote = Zygote(TRAINING_PRELOAD)
    yield zygote
    zygote.close()


@pytest.fixture(scope="session")
def untrained_rubric(tmp_path_factory) -> Path:
    """The bundled rubric without its training items: batches whose order and bookkeeping are under
    test, not training, grade the bundled submissions in seconds rather than minutes."""
    import yaml

    root = Path(__file__).resolve().parents[1]
    data = yaml.safe_load((root / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["kind"] != "training"]
    path = tmp_path_factory.mktemp("untrained") / "untrained.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def untrained_run(tmp_path_factory, untrained_rubric):
    """`grader grade submissions` with the rubric without training, run once: its output folder."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path_factory.mktemp("untrained_run") / "results"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(root / "submissions"), "--rubric",
                           str(untrained_rubric), "--out", str(out), "--jobs", "2"],
                          capture_output=True, text=True, timeout=900, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    return out


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
