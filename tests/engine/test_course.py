"""Before any work: the course's rubric found from its pyproject.toml, and every argument error
answered at once (no torch, no sandbox), in one line that says the fix, with exit status 2."""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cli
from grader.course import NO_RUBRIC, CourseError, course_rubric, no_rubric
from grader.kit import KIT_FILE, KIT_FOLDER, MAGIC, encode_summary

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
# What an argument error may cost: the interpreter and argparse, never torch (seconds).
AT_ONCE_S = 1.5
# Run in-process by a fresh interpreter: the exit status, then whether torch or a sandbox was loaded.
PROBE = ("import sys; from grader.cli import main; code = main(sys.argv[1:]); "
         "print('LOADED', 'torch' in sys.modules, 'grader.boundary.zygote' in sys.modules); sys.exit(code)")


def grader(*args, cwd):
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          timeout=120)
    return done, time.monotonic() - started


def refused_at_once(done, seconds, *expected):
    """Exit 2 within AT_ONCE_S, nothing heavy loaded, and one line on stderr holding each expected text."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert seconds < AT_ONCE_S, f"{seconds:.2f} s"
    assert "LOADED False False" in done.stdout
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    for text in expected:
        assert text in done.stderr


@pytest.fixture
def course(tmp_path):
    """A course folder naming its rubric (one that cannot validate: so a command stops there, quickly)."""
    root = tmp_path / "course"
    (root / "rubrics").mkdir(parents=True)
    (root / "rubrics" / "week3.yaml").write_text("title: T\nitems: []\n")
    (root / "pyproject.toml").write_text('[project]\nname = "course"\n\n[tool.grader]\nrubric = "rubrics/week3.yaml"\n')
    (root / "labs" / "one").mkdir(parents=True)
    return root


def test_the_rubric_is_found_from_any_folder_inside_the_course(course):
    found = course / "rubrics" / "week3.yaml"
    assert course_rubric(course / "labs" / "one") == found
    done, _ = grader("rubric", "validate", cwd=course / "labs" / "one")
    assert done.returncode == 2 and f"1 problem in {found}" in done.stderr  # that rubric, read from below
    # --rubric wins over the course's setting.
    other = course / "labs" / "other.yaml"
    other.write_text("title: T\nitems: []\n")
    done, _ = grader("rubric", "validate", other, cwd=course / "labs" / "one")
    assert f"1 problem in {other}" in done.stderr and str(found) not in done.stderr


def test_a_nearer_pyproject_without_a_grader_table_is_passed_over(course):
    inner = course / "labs" / "one"
    (inner / "pyproject.toml").write_text('[project]\nname = "a-lab"\n')
    assert course_rubric(inner) == course / "rubrics" / "week3.yaml"


@pytest.mark.parametrize("command", [["grade", SUBMISSIONS], ["check", SUBMISSIONS / "ada_lovelace"], ["audit"],
                                     ["kit", "build", "-o", "kit"], ["gradescope", "build"], ["rubric", "validate"]])
def test_outside_any_course_without_rubric_every_command_says_how_to_name_one(tmp_path, command):
    done, seconds = grader(*command, cwd=tmp_path)
    if command[0] == "check":  # a student's command: it speaks of kits first
        refused_at_once(done, seconds, "is not a self-check kit", "or pass --rubric")
    elif command[0] == "rubric":  # it takes the file as its argument
        refused_at_once(done, seconds, no_rubric("give it as grader rubric validate FILE"))
    else:
        refused_at_once(done, seconds, NO_RUBRIC)


@pytest.mark.parametrize("setting, reason", [
    ("[tool.grader\nrubric = 'x'", "is not valid TOML (Expected ']'"),
    ("[tool.grader]\nrubric = 3", "rubric must be a file name in quotes, relative to that file (got 3)"),
    ("[tool.grader]\nrubric = ''", "rubric must be a file name in quotes"),
    ("[tool.grader]\nrubric = ['a.yaml']", "rubric must be a file name in quotes"),
    ("[tool]\ngrader = 'a.yaml'", "tool.grader must be a table"),
    ("tool = 5", "'tool' must be a table"),
    ("[tool.grader]\nrubrics = 'a.yaml'", "has [tool.grader] but no rubric = \"FILE\" in it"),
    ("[tool.grader]\nrubric = 'rubrics/nowhere.yaml'", "names the rubric 'rubrics/nowhere.yaml', but"),
    ("[tool.grader]\nrubric = 'rubrics'", "is not a file"),
])
def test_a_broken_course_setting_names_the_file_and_the_reason(course, setting, reason):
    config = course / "pyproject.toml"
    config.write_text(setting)
    with pytest.raises(CourseError, match="pass --rubric FILE"):
        course_rubric(course)
    done, seconds = grader("grade", SUBMISSIONS, cwd=course / "labs")
    refused_at_once(done, seconds, str(config), reason)


def test_a_pyproject_that_is_not_utf8_is_an_error_not_a_traceback(course):
    (course / "pyproject.toml").write_bytes(b"[tool.grader]\nrubric = '\xff.yaml'\n")
    done, seconds = grader("audit", cwd=course)
    refused_at_once(done, seconds, str(course / "pyproject.toml"), "is not valid TOML")


@pytest.mark.parametrize("entries, expected", [
    (None, "nowhere does not exist: give the folder that holds one folder or .zip per student"),
    ("file", "nowhere is a file, not a folder"),
    ([], "nowhere is empty: put one folder or .zip per student there"),
    (["conv_matrix.py"], "no submissions in {folder}: put one folder or .zip per student there (it holds 1 other "
                         "entry; to check one student's folder, use grader check)"),
    (["__MACOSX/", ".DS_Store", "notes.txt"], "no submissions in {folder}: put one folder or .zip per student there "
                                              "(it holds 3 other entries"),
])
def test_a_folder_with_nothing_to_grade_is_refused_at_once(course, entries, expected):
    folder = course / "labs" / "nowhere"
    if entries == "file":
        folder.write_text("x = 1\n")
    elif entries is not None:
        folder.mkdir()
        for name in entries:
            (folder / name).mkdir() if name.endswith("/") else (folder / name).write_text("x = 1\n")
    done, seconds = grader("grade", folder, cwd=course)
    refused_at_once(done, seconds, expected.format(folder=folder))


@pytest.mark.parametrize("command", [["grade", SUBMISSIONS, "--rubric"], ["audit", "--rubric"], ["doctor", "--rubric"],
                                     ["kit", "build", "-o", "kit", "--rubric"], ["gradescope", "build", "--rubric"],
                                     ["gradescope", "trusted-paths"], ["check", SUBMISSIONS / "ada_lovelace", "--rubric"],
                                     ["rubric", "validate"]])
def test_a_mistyped_rubric_is_refused_at_once(tmp_path, command):
    done, seconds = grader(*command, "rubrcs/week3.yaml", cwd=tmp_path)
    refused_at_once(done, seconds, "rubrcs/week3.yaml", "check the path")


def test_the_course_setting_is_not_read_relative_to_the_working_folder(course, tmp_path):
    # The same relative name exists under the working folder, but not beside the pyproject.toml.
    (course / "pyproject.toml").write_text('[tool.grader]\nrubric = "week3.yaml"\n')
    (course / "labs" / "week3.yaml").write_text("title: T\nitems: []\n")
    done, seconds = grader("grade", SUBMISSIONS, cwd=course / "labs")
    refused_at_once(done, seconds, f"but {course / 'week3.yaml'} is not a file")


def test_a_kit_is_used_before_the_course_setting(course, monkeypatch):
    """A student kit unpacked inside a course folder whose setting is broken still checks with the kit."""
    (course / "pyproject.toml").write_text("[tool.grader\n")
    kit = course / "labs" / "one"
    (kit / KIT_FOLDER).mkdir()
    (kit / KIT_FOLDER / KIT_FILE).write_bytes(MAGIC + encode_summary({"format": 1}))
    monkeypatch.chdir(kit)
    args = argparse.Namespace(submission=".", rubric=None)
    assert cli._self_check_source(args) == (str((kit / KIT_FOLDER / KIT_FILE).resolve()), "kit")
    monkeypatch.chdir(course / "labs")  # not a kit: the course's setting is read, and its fault told
    source, why = cli._self_check_source(args)
    assert source is None and "pyproject.toml is not valid TOML" in why


def test_doctor_stops_at_a_broken_course_setting_before_probing_the_machine(course):
    (course / "pyproject.toml").write_text("[tool.grader]\nrubric = 3\n")
    done, seconds = grader("doctor", cwd=course)
    refused_at_once(done, seconds, "rubric must be a file name in quotes")


def test_rubric_validate_says_to_give_the_file_as_its_argument(tmp_path):
    done, seconds = grader("rubric", "validate", cwd=tmp_path)
    refused_at_once(done, seconds, "no rubric: give it as grader rubric validate FILE, or name it in [tool.grader]")
    assert "--rubric" not in done.stderr  # which that command does not take


def test_a_mistyped_rubric_offers_the_course_rubric_only_when_there_is_one(course, tmp_path):
    done, seconds = grader("grade", SUBMISSIONS, "--rubric", "rubric/week3.yaml", cwd=tmp_path)
    refused_at_once(done, seconds)
    assert done.stderr == "error: no rubric at rubric/week3.yaml: check the path\n"
    done, seconds = grader("grade", SUBMISSIONS, "--rubric", "rubric/week3.yaml", cwd=course / "labs")
    refused_at_once(done, seconds, f"check the path, or leave out --rubric to use {course / 'rubrics' / 'week3.yaml'}")
    done, seconds = grader("rubric", "validate", "rubric/week3.yaml", cwd=course / "labs")
    refused_at_once(done, seconds, "check the path, or give no file to use")


def test_a_mistyped_submissions_folder_names_the_folder_beside_it(tmp_path):
    (tmp_path / "submissions").mkdir()
    (tmp_path / "rubrics").mkdir()
    done, seconds = grader("grade", "submisions", cwd=tmp_path)
    refused_at_once(done, seconds, "submisions does not exist: give the folder that holds one folder or .zip per "
                                   "student; did you mean submissions?")
    done, seconds = grader("grade", "nothing_like_it", cwd=tmp_path)
    refused_at_once(done, seconds)
    assert "did you mean" not in done.stderr


def test_an_item_without_kind_is_told_the_kind_is_missing(tmp_path):
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text("title: T\nitems:\n  - id: a\n    name: A\n    points: 1\n")
    done, _ = grader("rubric", "validate", rubric, cwd=tmp_path)
    assert done.returncode == 2 and "kind is missing (one of cases, property, answers, training)" in done.stderr
    assert "None" not in done.stderr


@pytest.mark.parametrize("out, expected", [
    (".", "--out . is the submissions folder itself: the reports would go into the students' folders"),
    ("ada/results", "--out ada/results is inside the submission 'ada': the reports would change it"),
])
def test_reports_that_would_land_in_the_students_folders_are_refused_at_once(course, out, expected):
    folder = course / "labs" / "one"
    (folder / "ada").mkdir()
    (folder / "ada" / "conv_matrix.py").write_text("x = 1\n")
    done, seconds = grader("grade", ".", "--out", out, cwd=folder)
    refused_at_once(done, seconds, expected, "give --out a folder of its own")
    assert sorted(path.name for path in folder.rglob("*")) == ["ada", "conv_matrix.py"]  # nothing written
