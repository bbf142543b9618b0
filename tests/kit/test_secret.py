"""The grading secret: made when missing, never replaced, read by the trusted process only."""

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grader.rubric import RubricError, load_rubric
from grader.secret import create_secret, draw_key, fingerprint, read_secret

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lone_rubric(tmp_path, monkeypatch) -> Path:
    """A one-item copy of the bundled rubric, with no secret anywhere."""
    monkeypatch.delenv("GRADER_SECRET_FILE", raising=False)
    data = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "softmax.stability"]
    data.pop("kit", None)
    path = tmp_path / "course" / "a2.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_grade_makes_the_secret_once_and_keeps_it(lone_rubric, tmp_path):
    submissions = tmp_path / "in"
    shutil.copytree(ROOT / "submissions" / "ada_lovelace", submissions / "ada_lovelace")
    environment = {key: value for key, value in os.environ.items() if key != "GRADER_SECRET_FILE"}

    def grade():
        return subprocess.run([sys.executable, "-m", "grader", "grade", str(submissions), "--rubric", str(lone_rubric),
                               "--out", str(tmp_path / "out"), "--jobs", "1"], capture_output=True, text=True,
                              timeout=300, env=environment, cwd=tmp_path)

    assert load_rubric(lone_rubric).secret is None
    first = grade()
    made = lone_rubric.with_suffix(".secret")
    assert first.returncode == 0 and f"Made the grading secret {made}:" in "".join(first.stdout.split("\n")), first.stdout
    assert stat.S_IMODE(made.stat().st_mode) == 0o600 and len(made.read_text().strip()) == 64
    kept = made.read_bytes()
    second = grade()
    assert second.returncode == 0 and "Made the grading secret" not in second.stdout
    assert made.read_bytes() == kept and load_rubric(lone_rubric).secret == kept.strip()
    log = (tmp_path / "out" / "grading.log").read_text()
    assert f"inputs drawn with the secret {fingerprint(kept.strip())}" in log and kept.strip().decode() not in log
    assert load_rubric(lone_rubric, secret=False).secret is None


def test_create_secret_never_replaces_one(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET_FILE", str(tmp_path / "course.secret"))
    path, made = create_secret(tmp_path / "any.yaml")
    assert made and path == tmp_path / "course.secret"
    assert create_secret(tmp_path / "other.yaml") == (path, False)
    assert read_secret(tmp_path / "whatever.yaml") == path.read_bytes().strip()


def test_an_unusable_secret_stops_grading_rather_than_draw_other_inputs(lone_rubric):
    lone_rubric.with_suffix(".secret").write_text("   \n")
    with pytest.raises(RubricError, match="grading secret must be one line"):
        load_rubric(lone_rubric)


def test_the_draw_key_and_fingerprint_do_not_show_the_secret():
    assert draw_key(None) == b"" and fingerprint(None) == "public"
    assert draw_key(b"s") != draw_key(b"t") and len(draw_key(b"s")) == 32  # a digest, not the secret
    assert fingerprint(b"course secret") != fingerprint(b"other") and "course" not in fingerprint(b"course secret")


def test_resume_grades_again_what_another_secret_graded(tmp_path, monkeypatch):
    """A result keeps its draw; --resume keeps it only for the same secret."""
    import json

    from grader.batch import grade_folder

    data = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "softmax.softmax"]
    data["items"][0]["examples"] = 5
    rubric_path = tmp_path / "one.yaml"
    rubric_path.write_text(yaml.safe_dump(data, sort_keys=False))
    submissions = tmp_path / "in"
    shutil.copytree(ROOT / "submissions" / "ada_lovelace", submissions / "ada_lovelace")
    for number, secret in enumerate((b"first", b"first", b"second")):
        monkeypatch.setenv("GRADER_SECRET_FILE", str(tmp_path / f"{secret.decode()}.secret"))
        (tmp_path / f"{secret.decode()}.secret").write_bytes(secret)
        batch = grade_folder(submissions, load_rubric(rubric_path), tmp_path / "out", resume=True)
        written = json.loads((tmp_path / "out" / "ada_lovelace" / "result.json").read_text())
        assert written["draw"] == fingerprint(secret)
        assert [r.student for r in batch.results if r.student in batch.resumed] == (["ada_lovelace"] if number == 1 else [])

