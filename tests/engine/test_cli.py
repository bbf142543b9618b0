"""The console script: grade a folder, show the isolation layers."""

import json
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
    out = tmp_path / "out"
    done = run("grade", str(folder), "--rubric", str(RUBRIC), "--out", str(out))
    assert done.returncode == 0, done.stderr
    mia = json.loads((out / "mia_missing_files" / "result.json").read_text())
    zed = json.loads((out / "zed" / "result.json").read_text())
    total = load_rubric(RUBRIC).max_score
    assert mia["score"] == 16 and mia["max_score"] == total and mia["isolation"]["process"]
    assert zed["score"] == 0 and {item["status"] for item in zed["items"]} == {"error"}
    assert "mia_missing_files" in done.stdout and f"16 / {total:g}" in done.stdout and "zed" in done.stdout


def test_grade_refuses_a_bad_rubric_or_folder_with_a_clear_message(tmp_path):
    bad = tmp_path / "rubric.yaml"
    bad.write_text("title: T\nitems: []\n")
    refused = run("grade", str(SUBMISSIONS), "--rubric", str(bad))
    assert refused.returncode == 2 and "the rubric has no items" in refused.stderr
    missing = run("grade", str(tmp_path / "nowhere"), "--rubric", str(RUBRIC))
    assert missing.returncode == 2 and "is not a folder; give the folder that holds" in missing.stderr


def test_isolation_reports_the_layers_in_force():
    done = run("isolation")
    report = json.loads(done.stdout.rsplit("}", 1)[0] + "}")
    assert done.returncode == 0 and report["process"] and "strict mode:" in done.stdout
