"""The console script: grade a folder, show the isolation layers."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from grader.rubric import load_rubric

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"
RUBRIC = Path(__file__).resolve().parents[2] / "rubrics" / "assignment2.yaml"


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_grade_writes_a_result_per_student_and_prints_the_table(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copytree(SUBMISSIONS / "mia_missing_files", folder / "mia_missing_files")
    (folder / "zed.zip").write_bytes(b"not a zip")
    (folder / os.fsdecode(b"caf\xe9.zip")).write_bytes(b"not a zip either")  # a name that is not UTF-8
    out = tmp_path / "out"
    done = run("grade", str(folder), "--rubric", str(RUBRIC), "--out", str(out))
    assert done.returncode == 0, done.stderr
    mia = json.loads((out / "mia_missing_files" / "result.json").read_text())
    zed = json.loads((out / "zed" / "result.json").read_text())
    cafe = json.loads((out / "caf_" / "result.json").read_text())
    total = load_rubric(RUBRIC).max_score
    assert mia["score"] == 16 and mia["max_score"] == total and mia["isolation"]["process"]
    assert zed["score"] == 0 and {item["status"] for item in zed["items"]} == {"error"}
    assert cafe["score"] == 0 and {item["status"] for item in cafe["items"]} == {"error"}
    assert "mia_missing_files" in done.stdout and f"16 / {total:g}" in done.stdout and "zed" in done.stdout
    # The undecodable name is said once, escaped, with what it is filed as.
    assert "the name 'caf\\xe9.zip' is not valid UTF-8; that submission is graded and filed as caf_" in done.stderr
    # Not a terminal: one plain line per student, with the count, the time elapsed and the time left.
    assert done.stdout.startswith("grading 3 submissions\n")
    lines = [re.fullmatch(r"graded (\d)/3 \((\S+)\) - \d\d:\d\d elapsed(, about \d\d:\d\d left)?", line)
             for line in done.stdout.splitlines() if line.startswith("graded ")]
    assert all(lines) and [line[1] for line in lines] == ["1", "2", "3"]
    assert sorted(line[2] for line in lines) == ["caf_", "mia_missing_files", "zed"]  # in the order they finish
    assert [bool(line[3]) for line in lines] == [True, True, False]  # no time left to tell after the last


def test_grade_refuses_a_bad_rubric_or_folder_with_a_clear_message(tmp_path):
    bad = tmp_path / "rubric.yaml"
    bad.write_text("title: T\nitems: []\n")
    refused = run("grade", str(SUBMISSIONS), "--rubric", str(bad))
    assert refused.returncode == 2 and "the rubric has no items" in refused.stderr
    missing = run("grade", str(tmp_path / "nowhere"), "--rubric", str(RUBRIC))
    assert missing.returncode == 2
    assert missing.stderr == (f"error: {tmp_path / 'nowhere'} does not exist: "
                              f"give the folder that holds one folder or .zip per student\n")


def test_isolation_reports_the_layers_in_force():
    done = run("isolation")
    report = json.loads(done.stdout.rsplit("}", 1)[0] + "}")
    assert done.returncode == 0 and report["process"] and "strict mode:" in done.stdout
