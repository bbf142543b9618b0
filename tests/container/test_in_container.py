"""The sandbox's promises inside an ordinary container, as Gradescope runs it.

Each test runs the grader under tests.dockerlike (Docker's capabilities, its seccomp
profile's refusal of namespaces, a mount namespace of its own), with the grader and the
reference installed as pip installs them: packages in a site-packages folder that the
child needs for numpy's sake. No namespace can hide anything there; Landlock's rules,
the system-call filter and the private uid have to keep every answer out of reach.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.machine import can_have, in_container

ROOT = Path(__file__).resolve().parents[2]
# The hostile cases that depend on isolation layers, and the layers' own tests.
INSIDE = ["tests/boundary/test_layers.py", "tests/hostile/test_reading_secrets.py", "tests/hostile/test_network.py",
          "tests/hostile/test_forged_results.py", "tests/hostile/test_tampering.py",
          "tests/hostile/test_runaway_resources.py", "tests/hostile/test_exits_and_signals.py"]
# Not repeated inside: test_shared_resources.py reproduces a container's /proc from outside, and the
# cgroup files stay writable under tests.dockerlike, unlike a real container's.
# Where a container cannot have a layer, the tests of that layer alone may skip; nothing else may.
CONTAINER_LACKS = ("namespaces", "hidden_paths", "disk")

pytestmark = [
    pytest.mark.skipif(in_container(), reason="already inside the container"),
    pytest.mark.skipif(os.geteuid() != 0, reason="a container's root is reproduced only by root"),
    pytest.mark.skipif(not can_have()["seccomp"], reason="Docker's seccomp profile is reproduced only with seccomp"),
]


@pytest.fixture(scope="module")
def installed():
    """The project laid out as an install is: grader and reference in site-packages, the rest beside.

    Outside pytest's own temporary root, which pytest keeps closed to other users, as no image's is.
    """
    work = Path(tempfile.mkdtemp(prefix="grader-container-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    packages = work / "venv" / "site-packages"
    app = work / "app"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("grader", "reference"):
        shutil.copytree(ROOT / name, packages / name, ignore=skip)
    for name in ("tests", "submissions", "rubrics"):
        shutil.copytree(ROOT / name, app / name, ignore=skip)
    shutil.copy(ROOT / "pyproject.toml", app)
    for path in (work, *work.rglob("*")):  # as pip leaves them: readable by all
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    yield app, packages
    shutil.rmtree(work, ignore_errors=True)


def inside(installed, *command, timeout=600) -> subprocess.CompletedProcess:
    app, packages = installed
    environment = {**os.environ, "PYTHONPATH": str(packages), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run([sys.executable, "-m", "tests.dockerlike", sys.executable, *command], cwd=app,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def test_the_grader_inside_reports_what_a_container_allows(installed):
    done = inside(installed, "-c", "import grader, json; print(json.dumps(grader.__file__))")
    assert "site-packages" in json.loads(done.stdout), done.stdout + done.stderr  # the installed copy is graded
    done = inside(installed, "-m", "grader", "isolation")
    report = json.loads(done.stdout[: done.stdout.rindex("}") + 1])
    assert report["namespaces"] is False and report["hidden_paths"] == 0 and report["disk"] is False, report
    for layer in ("filesystem", "seccomp", "unprivileged_uid", "network", "no_new_privs"):
        if can_have()[layer]:
            assert report[layer], f"{layer} is missing inside the container: {report}"


def test_the_hostile_cases_hold_inside(installed):
    done = inside(installed, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *INSIDE, timeout=900)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    skipped = [line for line in output.splitlines() if line.startswith("SKIPPED")]
    for line in skipped:
        assert any(layer in line for layer in CONTAINER_LACKS) or "already inside the container" in line, \
            f"skipped for another reason than the container:\n{line}"
    assert " passed" in output and len(skipped) < 10, output[-3000:]


def test_a_correct_submission_keeps_full_marks_through_gradescope_s_entry_point(installed, tmp_path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    shutil.copy(installed[0] / "rubrics" / "assignment2.yaml", root / "source" / "rubric.yaml")
    shutil.copytree(installed[0] / "submissions" / "ada_lovelace", root / "submission")
    done = inside(installed, "-m", "grader", "gradescope", "run", "--root", str(root))
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["tests"], done.stdout + done.stderr + results["output"]
    assert results["score"] == results["extra_data"]["max_score"], [
        (t["number"], t["score"], t["output"][:300]) for t in results["tests"] if t["score"] < t["max_score"]]
    isolation = results["extra_data"]["isolation"]
    assert isolation["namespaces"] is False and isolation["seccomp"] is can_have()["seccomp"]
