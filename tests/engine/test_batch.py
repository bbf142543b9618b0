"""grader grade on a folder: reports, a row for every student, resume after a kill; grader check."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.engine.conftest import CHEAP_ITEMS

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
STUDENTS = ["ada_lovelace", "carl_flipped_kernel", "gina_unstable_softmax", "kate_weights_sum_to_one", "noah_syntax_error"]



@pytest.fixture
def batch(tmp_path) -> Path:
    folder = tmp_path / "batch"
    folder.mkdir()
    for name in STUDENTS:
        shutil.copytree(SUBMISSIONS / name, folder / name)
    (folder / "zoe_broken.zip").write_bytes(b"this is not a zip")
    return folder


def grade(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "grader", "grade", *map(str, args)], capture_output=True, text=True,
                          timeout=600, **kwargs)


def test_grade_writes_every_report_and_a_row_per_student(batch, small_rubric, tmp_path):
    out, temp = tmp_path / "out", tmp_path / "temp"
    temp.mkdir()
    done = grade(batch, "--rubric", small_rubric, "--out", out, "--jobs", "2", env={**os.environ, "TMPDIR": str(temp)})
    assert done.returncode == 0, done.stderr
    assert list(temp.iterdir()) == []  # no scratch copy, and not the fork server's folder either
    rows = list(csv.reader((out / "gradebook.csv").open()))
    rubric_ids = [item["id"] for item in yaml.safe_load(small_rubric.read_text())["items"]]
    assert rows[0] == ["student", "score", "max_score", *rubric_ids]
    assert [row[0] for row in rows[1:]] == sorted(STUDENTS + ["zoe_broken"])
    by_student = {row[0]: row for row in rows[1:]}
    assert by_student["ada_lovelace"][1] == by_student["ada_lovelace"][2] == "10"
    assert by_student["zoe_broken"][1] == "0"
    for name in STUDENTS + ["zoe_broken"]:
        result = json.loads((out / name / "result.json").read_text())
        assert result["student"] == name and float(by_student[name][1]) == result["score"]
        assert (out / name / "feedback.md").read_text().startswith("# Assignment 2: feedback for")
    assert "flipped_kernel" in (out / "carl_flipped_kernel" / "feedback.md").read_text()
    assert (out / "report.html").exists()
    log = (out / "grading.log").read_text()
    assert "grading 6 submissions" in log and "graded zoe_broken: 0/10" in log and "done: 6 graded" in log
    assert "Reports:" in done.stdout and "report.html" in done.stdout


def test_a_killed_run_resumes_to_the_same_gradebook(batch, small_rubric, tmp_path):
    whole, broken = tmp_path / "whole", tmp_path / "broken"
    assert grade(batch, "--rubric", small_rubric, "--out", whole, "--jobs", "1").returncode == 0
    run = subprocess.Popen([sys.executable, "-m", "grader", "grade", str(batch), "--rubric", str(small_rubric),
                            "--out", str(broken), "--jobs", "1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(broken.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    finished_before = {p.parent.name for p in broken.glob("*/result.json")}
    assert 0 < len(finished_before) < len(STUDENTS) + 1, "the kill must land mid-batch"
    assert not (broken / "gradebook.csv").exists()
    resumed = grade(batch, "--rubric", small_rubric, "--out", broken, "--jobs", "1", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert (broken / "gradebook.csv").read_text() == (whole / "gradebook.csv").read_text()
    log = (broken / "grading.log").read_text()
    assert all(f"kept {name}:" in log for name in finished_before)


def test_resume_regrades_a_changed_submission(batch, small_rubric, tmp_path):
    out = tmp_path / "out"
    assert grade(batch, "--rubric", small_rubric, "--out", out, "--jobs", "1").returncode == 0
    shutil.rmtree(batch / "carl_flipped_kernel")
    shutil.copytree(SUBMISSIONS / "ada_lovelace", batch / "carl_flipped_kernel")
    assert grade(batch, "--rubric", small_rubric, "--out", out, "--jobs", "1", "--resume").returncode == 0
    assert json.loads((out / "carl_flipped_kernel" / "result.json").read_text())["score"] == 10
    log = (out / "grading.log").read_text()
    assert "graded carl_flipped_kernel: 10/10" in log and "kept ada_lovelace" in log


def test_bad_command_lines_say_what_to_do(tmp_path):
    missing = grade(tmp_path / "nowhere")
    assert missing.returncode == 2 and "does not exist: give the folder that holds" in missing.stderr
    no_rubric = grade(SUBMISSIONS, "--rubric", tmp_path / "none.yaml")
    assert no_rubric.returncode == 2 and f"no rubric at {tmp_path / 'none.yaml'}: check the path" in no_rubric.stderr
    usage = grade(SUBMISSIONS, "--jobs", "0")
    assert usage.returncode == 2 and "usage:" in usage.stderr


@pytest.mark.parametrize("name, code", [("ada_lovelace", 0), ("carl_flipped_kernel", 1)])
def test_check_runs_visible_items_and_counts_what_it_cannot_run(small_rubric, name, code, tmp_path):
    done = subprocess.run([sys.executable, "-m", "grader", "check", str(SUBMISSIONS / name), "--rubric", str(small_rubric),
                           "--json", str(tmp_path / "me.json")], capture_output=True, text=True, timeout=300)
    assert done.returncode == code, done.stdout + done.stderr
    written = json.loads((tmp_path / "me.json").read_text())
    # Neither the hidden item nor the written answer is run: a self-check would give the answer away.
    checked = CHEAP_ITEMS - {"linear_region.deep", "theory.conv_matrix.entries"}
    assert {item["id"] for item in written["items"]} == checked
    assert set(written["timing"]["items_s"]) == checked
    assert all(item["status"] == "passed" for item in written["items"]) == (code == 0)
    assert "linear_region.deep" not in done.stdout, "hidden items are not run locally"
    assert "Not run here: 1 written answer, graded only in final grading, worth 2 points." in done.stdout
    assert "Not run here: 1 hidden item, graded only in final grading, worth 2 points." in done.stdout
    assert "does not mean they pass" in done.stdout
    if code:
        assert "flipped_kernel" in done.stdout and "all tests passed" not in done.stdout.lower()
