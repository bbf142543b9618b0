"""The console script: grade a folder, show the isolation layers."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from grader.rubric import load_rubric
from grader.submission import find_submissions

SUBMISSIONS = Path(__file__).resolve().parents[2] / "submissions"
RUBRIC = Path(__file__).resolve().parents[2] / "rubrics" / "assignment2.yaml"


def run(*args, cwd=None):
    # os.environ, not the C environment: a library (readline) may have set COLUMNS=80 there behind Python's back.
    return subprocess.run([sys.executable, "-m", "grader", *args], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env=dict(os.environ))


def test_grade_writes_a_result_per_student_and_prints_the_table(tmp_path):
    folder = tmp_path / "batch"
    folder.mkdir()
    shutil.copytree(SUBMISSIONS / "mia_missing_files", folder / "mia_missing_files")
    (folder / "zed.zip").write_bytes(b"not a zip")
    (folder / os.fsdecode(b"caf\xe9.zip")).write_bytes(b"not a zip either")  # a name that is not UTF-8
    (folder / "carl").mkdir()  # one file, graded wrong: its row lists failed items by id
    shutil.copy(SUBMISSIONS / "carl_flipped_kernel" / "conv_matrix.py", folder / "carl")
    # Run inside the submissions folder, as `cd submissions && grader grade .`: the default results/ is made
    # there, and a results/ left from an earlier run is there from the start. Neither is a student.
    out = folder / "results"
    (out / "old_student").mkdir(parents=True)
    done = run("grade", ".", "--rubric", str(RUBRIC), cwd=folder)
    assert done.returncode == 0, done.stderr
    assert not (out / "results").exists() and "results" not in (out / "gradebook.csv").read_text()
    log = (out / "grading.log").read_text()
    assert "skipped 'results': the folder these reports go to" in log
    assert "'caf\\xe9.zip' is filed as caf_" in log  # the same escape as on the terminal
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
    assert done.stdout.startswith("grading 4 submissions\n")
    lines = [re.fullmatch(r"graded (\d)/4 \((\S+)\) - \d\d:\d\d elapsed(, about \d\d:\d\d left)?", line)
             for line in done.stdout.splitlines() if line.startswith("graded ")]
    assert all(lines) and [line[1] for line in lines] == ["1", "2", "3", "4"]
    assert sorted(line[2] for line in lines) == ["caf_", "carl", "mia_missing_files", "zed"]  # in the order they finish
    # The time left is told from the rate after the first result, and not after the last.
    assert [bool(line[3]) for line in lines] == [False, True, True, False]
    # Piped, the table is as wide as it needs, not 80 columns: each failed item's id is printed whole.
    carl = json.loads((out / "carl" / "result.json").read_text())
    failed = [item["id"] for item in carl["items"] if item["status"] == "failed"]
    assert failed and all(f"{item_id} (failed" in done.stdout for item_id in failed), done.stdout
    assert "\u2026" not in done.stdout


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


def test_the_output_folder_is_no_submission_even_through_a_link(tmp_path):
    folder = tmp_path / "batch"
    (folder / "ada").mkdir(parents=True)
    (folder / "results").mkdir()
    (folder / "reports").mkdir()
    (folder / "ben.zip").write_bytes(b"")
    assert [p.name for p in find_submissions(folder)] == ["ada", "ben.zip", "reports", "results"]
    assert [p.name for p in find_submissions(folder, out=folder / "results")] == ["ada", "ben.zip", "reports"]
    assert [p.name for p in find_submissions(folder, out=folder / "reports" / "week3")] == ["ada", "ben.zip", "results"]
    link = tmp_path / "out"
    link.symlink_to(folder / "results")  # --out names a link to an entry
    assert [p.name for p in find_submissions(folder, out=link)] == ["ada", "ben.zip", "reports"]
    assert [p.name for p in find_submissions(folder, out=tmp_path / "elsewhere")] == ["ada", "ben.zip", "reports", "results"]
