"""The Gradescope autograder end to end: build the zip, unpack it as Gradescope does, run
run_autograder on a submission, and check results.json against Gradescope's contract."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from grader import gradescope
from grader.rubric import load_rubric

ROOT = Path(__file__).resolve().parents[2]
RUBRIC = ROOT / "rubrics" / "assignment2.yaml"
SUBMISSIONS = ROOT / "submissions"
FORGED = {"score": 1000, "output": "FORGED", "tests": []}
METADATA = {
    "id": 123456789,
    "created_at": "2025-03-01T17:32:11.123456-08:00",
    "assignment": {"id": 42, "title": "Assignment 2", "due_date": "2025-03-07T23:59:00.000000-08:00",
                   "late_due_date": None, "total_points": "46.0"},
    "users": [{"name": "Carl Example", "email": "carl@example.edu", "id": 7}],
    "previous_submissions": [],
}


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory) -> Path:
    return gradescope.build(RUBRIC, tmp_path_factory.mktemp("build") / "autograder.zip")


def _extract(archive: Path, target: Path) -> None:
    """Unzip keeping the mode bits, as Gradescope's unzip does."""
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            zipped.extract(info, target)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target / info.filename, mode)


def _autograder_root(tmp_path: Path, archive: Path, submission: str, items=None) -> Path:
    root = tmp_path / "autograder"
    _extract(archive, root / "source")
    if items is not None:  # a smaller rubric where the point is not the scores
        data = yaml.safe_load((root / "source" / "rubric.yaml").read_text())
        data["items"] = [item for item in data["items"] if item["id"] in items]
        (root / "source" / "rubric.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copytree(SUBMISSIONS / submission, root / "submission")
    (root / "submission_metadata.json").write_text(json.dumps(METADATA))
    (root / "results").mkdir()
    (root / "results" / "results.json").write_text(json.dumps(FORGED))  # planted before the run
    return root


def _run_autograder(root: Path) -> dict:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "GRADER_VENV": sys.prefix,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(root / "source" / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def _check_contract(data: dict, rubric) -> None:
    assert data["output_format"] == "md" and data["stdout_visibility"] == "hidden" and data["visibility"] == "visible"
    assert isinstance(data["output"], str) and data["output"]
    assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] > 0
    assert isinstance(data["score"], (int, float))
    tests = data["tests"]
    assert len(tests) == len(rubric.items)
    assert [t["number"] for t in tests] == [item.id for item in rubric.items]
    assert data["score"] == pytest.approx(sum(t["score"] for t in tests))
    for test, item in zip(tests, rubric.items):
        assert set(test) == {"score", "max_score", "status", "name", "number", "output", "output_format",
                             "visibility", "tags", "extra_data"}
        assert isinstance(test["score"], (int, float)) and isinstance(test["max_score"], (int, float))
        assert test["max_score"] == item.points and test["name"] == item.name
        assert test["status"] in ("passed", "failed") and test["output_format"] == "md"
        assert (test["status"] == "passed") == (test["extra_data"]["status"] == "passed")
        assert test["score"] == (item.points if test["status"] == "passed" else 0)
        assert test["visibility"] == item.visibility
        assert isinstance(test["tags"], list) and all(isinstance(tag, str) for tag in test["tags"])
        assert test["extra_data"]["status"] in ("passed", "failed", "error", "timeout", "missing")
        assert isinstance(test["output"], str)
        if item.visibility == "hidden":  # staff only: the summary a student reads names none of them
            assert item.id not in data["output"] and item.name not in data["output"]
    hidden_points = sum(item.points for item in rubric.items if item.visibility == "hidden")
    assert f"{hidden_points:g} points are in" in data["output"]
    assert "FORGED" not in json.dumps(data)


def test_zip_holds_the_scripts_the_rubric_and_the_project(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as zipped:
        infos = {info.filename: info for info in zipped.infolist()}
        assert zipped.read("rubric.yaml") == RUBRIC.read_bytes()
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o111 == 0o111, script
    for part in ("project/pyproject.toml", "project/README.md", "project/grader/gradescope.py",
                 "project/grader/templates/run_autograder", "project/reference/conv_matrix.py",
                 "project/rubrics/assignment2.yaml"):
        assert part in infos, part
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in infos)


def test_zip_carries_the_grading_secret_beside_the_rubric_only(autograder_zip, tmp_path, monkeypatch):
    """Gradescope grades with the course's secret: final grading there never draws a kit's inputs."""
    secret = Path(os.environ["GRADER_SECRET_FILE"]).read_bytes().strip()
    with zipfile.ZipFile(autograder_zip) as zipped:
        assert zipped.read("rubric.secret").strip() == secret
        assert not [name for name in zipped.namelist() if name.startswith("project/") and name.endswith(".secret")]
    _extract(autograder_zip, tmp_path / "source")
    monkeypatch.delenv("GRADER_SECRET_FILE")
    assert load_rubric(tmp_path / "source" / "rubric.yaml").secret == secret


def test_flipped_kernel_submission(tmp_path, autograder_zip, rubric):
    root = _autograder_root(tmp_path, autograder_zip, "carl_flipped_kernel")
    data = _run_autograder(root)
    _check_contract(data, rubric)
    assert 0 < data["score"] < rubric.max_score
    tests = {t["number"]: t for t in data["tests"]}
    for number in ("conv_matrix.published", "conv_matrix.property"):
        assert tests[number]["status"] == "failed" and tests[number]["tags"] == ["flipped_kernel"]
        assert "```" in tests[number]["output"] and "**got**" in tests[number]["output"]
    # A hidden test is never shown to a student, so it may carry what an instructor needs, in full.
    hidden = tests["conv_matrix.rectangular"]
    assert hidden["visibility"] == "hidden" and hidden["tags"] == ["flipped_kernel"] and "**got**" in hidden["output"]
    assert data["extra_data"]["student"] == "Carl Example"


def test_correct_submission_gets_full_marks(tmp_path, autograder_zip):
    items = {"conv_matrix.published", "conv_matrix.rectangular", "linear_region.published",
             "softmax.stability", "focal_loss.reweight_published", "theory.linear_region.at_2"}
    root = _autograder_root(tmp_path, autograder_zip, "ada_lovelace", items)
    data = _run_autograder(root)
    rubric = load_rubric(root / "source" / "rubric.yaml")
    _check_contract(data, rubric)
    assert data["score"] == rubric.max_score
    assert all(t["status"] == "passed" and t["tags"] == [] for t in data["tests"])


def test_submission_cannot_write_results(tmp_path, autograder_zip):
    items = {"conv_matrix.published", "conv_matrix.rectangular"}
    root = _autograder_root(tmp_path, autograder_zip, "carl_flipped_kernel", items)
    target = root / "submission" / "conv_matrix.py"
    attack = (
        "import json as _json, os as _os\n"
        f"for _root in ({str(root)!r}, _os.environ.get('AUTOGRADER_ROOT', '/autograder')):\n"
        "    for _name in ('results.json', 'planted.json'):\n"
        "        try:\n"
        "            with open(_root + '/results/' + _name, 'w') as _f:\n"
        f"                _json.dump({FORGED!r}, _f)\n"
        "        except Exception:\n"
        "            pass\n"
    )
    target.write_text(attack + target.read_text())
    data = _run_autograder(root)
    rubric = load_rubric(root / "source" / "rubric.yaml")
    _check_contract(data, rubric)
    assert not (root / "results" / "planted.json").exists()  # the write never landed
    assert data["score"] == 0  # the engine's verdict on a flipped kernel, not the forged one
    assert [t["status"] for t in data["tests"]] == ["failed", "failed"]
    assert data["tests"][0]["tags"] == ["flipped_kernel"]  # the attacked module did import and run


def test_invalid_rubric_gives_a_harness_failure(tmp_path, autograder_zip):
    root = _autograder_root(tmp_path, autograder_zip, "ada_lovelace")
    (root / "source" / "rubric.yaml").write_text("title: broken\nitems: [\n")
    data = _run_autograder(root)
    assert data["score"] == 0 and data["tests"] == []
    assert "not valid" in data["output"] and "FORGED" not in data["output"]
    assert data["output_format"] == "md" and data["stdout_visibility"] == "hidden"
    assert isinstance(data["execution_time"], (int, float)) and data["execution_time"] > 0


def test_missing_rubric_gives_a_harness_failure(tmp_path):
    assert gradescope.run(tmp_path, "source/rubric.yaml") == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert data["score"] == 0 and data["tests"] == [] and "cannot read the rubric" in data["output"]
    assert list((tmp_path / "results").iterdir()) == [tmp_path / "results" / "results.json"]  # no partial left


def test_harness_failure_is_valid_json():
    data = gradescope.harness_failure("boom ``` `` injected", 0.5)
    assert json.loads(json.dumps(data)) == data
    assert data["score"] == 0 and data["tests"] == [] and data["execution_time"] == 0.5
    assert "````" in data["output"]  # the fence outgrows the message's own backticks


def test_setup_closes_exactly_the_trusted_paths_to_other_users(tmp_path):
    """setup.sh makes what `trusted-paths` lists root's alone; the libraries student code needs are not in it."""
    import numpy
    import torch

    import grader
    import reference

    done = subprocess.run([sys.executable, "-m", "grader", "gradescope", "trusted-paths", str(RUBRIC)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    listed = {os.path.realpath(line) for line in done.stdout.splitlines()}
    assert {os.path.realpath(grader.__path__[0]), os.path.realpath(reference.__path__[0])} <= listed
    for library in (numpy, torch):
        folder = os.path.realpath(os.path.dirname(library.__file__))
        assert not any(os.path.commonpath([folder, path]) == path for path in listed), folder
    script = (Path(gradescope.TEMPLATES) / "setup.sh").read_text()
    assert 'gradescope trusted-paths "$HERE/rubric.yaml"' in script and 'chmod -R go-rwx "$HERE"' in script
