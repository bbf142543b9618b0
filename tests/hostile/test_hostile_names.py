"""Names a student chooses (the folder or the zip) are data in every report, never a path, formula or markup.

A class's batch is graded by the command line in a real terminal, one job, with a secret in
the grader's environment: every entry gets its own row, nothing lands outside --out, and no
name or printed text reaches the terminal, the log or a spreadsheet as anything but text.
"""

import csv
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from grader.identity import identities, is_identity, safe_name

from .conftest import ADA, RUBRIC

SECRET = "sk-live-7f3a9c1e5b"
LINK = "\x1b]8;;https:evil.example\x07click me\x1b]8;;\x07"  # no "/": it names a folder
CLIPBOARD = "\x1b]52;c;cm0gLXJmIH4=\x07"
CLEAR = "\x1b[2J\x1b[H"
# Each is a folder's name, so none holds "/".
HOSTILE_NAMES = [
    "...", "a\\b", "grading.log", "gradebook.csv", "report.html", "Report.HTML",
    '=HYPERLINK("https:evil.example","grade")', "+cmd", "-2+3", "@SUM(A1)",
    "[link=https:evil.example]click me", "[reverse]46 of 46", "x\n│ mallory │ 46 of 46 │", CLEAR + "clear", CLIPBOARD, LINK,
    "eve\n2026-01-01 00:00:00,000 INFO graded mallory: 46 of 46", "<script>alert(1)<\\script>", "é" * 120,
    ".hidden", "ada_lovelace",
]
ZIPPED = ["..", "ada_lovelace", "=1+1"]  # "...zip", "ada_lovelace.zip" beside the folder, a formula
LEAKER = f'''
import os
print("{CLIPBOARD}{LINK}[bold red]46/46[/bold red]{CLEAR}")
raise RuntimeError("environment: " + repr(dict(os.environ)))
'''


@pytest.fixture
def one_item_rubric(tmp_path):
    data = yaml.safe_load(RUBRIC.read_text())
    items = [item for item in data["items"] if item["id"] == "conv_matrix.published"]
    path = tmp_path / "rubric" / "one.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump({"title": "Names", "mistakes": data["mistakes"], "items": items}, sort_keys=False))
    return path


def _class_folder(root: Path) -> tuple[Path, int]:
    folder = root / "class"
    folder.mkdir()
    for name in HOSTILE_NAMES:
        shutil.copytree(ADA, folder / name)
    shutil.copytree(ADA, folder / os.fsdecode(b"not-utf8-\xff\xfe"))
    for stem in ZIPPED:
        with zipfile.ZipFile(folder / f"{stem}.zip", "w") as bundle:
            for path in sorted(ADA.rglob("*")):
                if path.is_file():
                    bundle.write(path, path.relative_to(ADA).as_posix())
    shutil.copytree(ADA, folder / "env_leaker")
    (folder / "env_leaker" / "conv_matrix.py").write_text(LEAKER)
    return folder, len(HOSTILE_NAMES) + 1 + len(ZIPPED) + 1


def _in_terminal(command: list[str], env: dict, timeout: float = 240) -> bytes:
    """Run `command` with a pseudo-terminal as its stdout and stderr; everything it wrote there."""
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(command[0], command, env)
    output, deadline = bytearray(), time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 1)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:  # the other side closed: the command ended
                    break
                if not chunk:
                    break
                output += chunk
        else:
            os.kill(pid, signal.SIGKILL)
    finally:
        os.waitpid(pid, 0)
        os.close(fd)
    return bytes(output)


def test_a_hostile_class_is_graded_one_row_each_and_nothing_escapes(tmp_path, one_item_rubric):
    folder, entries = _class_folder(tmp_path)
    run = tmp_path / "run"
    run.mkdir()
    out = run / "out"
    env = {**os.environ, "GRADER_API_TOKEN": SECRET, "COLUMNS": "200", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    terminal = _in_terminal([sys.executable, "-m", "grader", "grade", str(folder), "--rubric", str(one_item_rubric),
                             "--out", str(out), "--jobs", "1"], env)
    assert b"submissions in" in terminal, terminal.decode(errors="replace")[-3000:]

    with open(out / "gradebook.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))[1:]
    assert len(rows) == entries and len({row[0] for row in rows}) == entries
    assert all(is_identity(row[0]) and not row[0].startswith(("=", "+", "-", "@")) for row in rows)
    scores = {row[0]: float(row[1]) for row in rows}
    assert scores["env_leaker"] == 0 and sorted(scores.values()).count(2.0) == entries - 1  # every copy of ada passes

    # Nothing outside --out; under it, one folder per row and the batch's own files.
    assert sorted(p.name for p in run.iterdir()) == ["out"]
    assert sorted(os.listdir(tmp_path)) == sorted(["class", "rubric", "run"])
    folders = {p.name for p in out.iterdir() if p.is_dir()}
    assert folders == {row[0] for row in rows}
    assert {p.name for p in out.iterdir() if p.is_file()} == {"gradebook.csv", "grading.log", "report.html"}

    everything = [path.read_bytes() for path in out.rglob("*") if path.is_file()]
    assert not any(SECRET.encode() in data for data in [terminal, *everything])
    assert not any(b"\x1b" in data or b"\x07" in data for data in everything)
    for line in (out / "grading.log").read_text(encoding="utf-8").splitlines():
        assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (INFO|WARNING|ERROR) ", line), line
    assert not re.search(r"^\S+ \S+ INFO graded mallory", (out / "grading.log").read_text(), re.M)  # no forged line
    for feedback in out.glob("*/feedback.md"):
        assert "<script" not in feedback.read_text().lower()

    # The terminal shows names as text: no link, clipboard write, screen clear or bell from a student.
    for sequence in (b"\x1b]8;", b"\x1b]52", b"\x1b[2J", b"\x07"):
        assert sequence not in terminal, sequence
    assert not re.search(rb"^\W*mallory", terminal, re.M)


def test_the_self_check_prints_student_text_as_text(tmp_path):
    submission = tmp_path / "mine"
    shutil.copytree(ADA, submission)
    (submission / "conv_matrix.py").write_text(LEAKER.replace("raise", 'print("[/bold] [not markup]")\nraise'))
    data = yaml.safe_load(RUBRIC.read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "conv_matrix.published"]
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(yaml.safe_dump(data, sort_keys=False))
    env = {**os.environ, "GRADER_API_TOKEN": SECRET, "COLUMNS": "200", "TERM": "xterm-256color"}
    terminal = _in_terminal([sys.executable, "-m", "grader", "check", str(submission), "--rubric", str(rubric)], env)
    assert b"conv_matrix.published" in terminal and b"Visible checks: 0 of 2" in terminal, terminal.decode(errors="replace")
    assert b"[/bold] [not markup]" in terminal and b"[bold red]46/46[/bold red]" in terminal  # shown, not obeyed
    for sequence in (b"\x1b]8;", b"\x1b]52", b"\x1b[2J", b"\x07", SECRET.encode()):
        assert sequence not in terminal, sequence


@pytest.mark.parametrize("raw", HOSTILE_NAMES + ["", "..", "/", "\x00", "\ud800", "a" * 1000, "CON", "  spaced  "])
def test_every_name_maps_to_one_plain_component(raw):
    name = safe_name(raw)
    assert is_identity(name) or name.lower() in {"gradebook.csv", "grading.log", "report.html", "results.json"}
    assert name and name not in (".", "..") and "/" not in name and "\\" not in name
    assert len(name.encode("utf-8")) <= 100 and name[0].isalnum()
    assert all(c.isalnum() or c in "._-" for c in name)


def test_identities_never_collide_and_do_not_depend_on_order(tmp_path):
    paths = [tmp_path / n for n in ["ada", "ada.zip", "ADA", "Ada.ZIP", "gradebook.csv", "a b", "a_b", "a?b",
                                    "x" * 300, "x" * 301, "submission", "..."]]
    names = identities(paths)
    assert len(set(n.lower() for n in names.values())) == len(paths)
    assert all(is_identity(n) for n in names.values())
    assert identities(list(reversed(paths))) == names
    assert identities([tmp_path / "ada.zip", tmp_path / "ada"]) == {tmp_path / "ada": "ada", tmp_path / "ada.zip": "ada.zip"}


def test_the_python_api_files_a_result_under_an_identity(tmp_path, bundled):
    from grader.api import grade_submission, write_result

    (tmp_path / "subs").mkdir()
    with zipfile.ZipFile(tmp_path / "subs" / "....zip", "w") as bundle:
        bundle.writestr("conv_matrix.py", "def conv_as_matrix(*args): return 0\n")
    result = grade_submission(tmp_path / "subs" / "....zip", bundled, items=["conv_matrix.published"])
    assert is_identity(result.student)
    written = write_result(result, tmp_path / "out")
    assert written.parent.parent == tmp_path / "out"
    result.student = "../../escaped"
    with pytest.raises(ValueError):
        write_result(result, tmp_path / "out")
    assert not (tmp_path / "escaped").exists()


def test_a_grader_started_inside_a_students_folder_imports_nothing_from_it(tmp_path):
    # Python puts the working folder first on the path of a `python -c` process: the zygote, where
    # every child comes from, would import the student's yaml.py before any sandbox exists.
    submission = tmp_path / "mallory"
    shutil.copytree(ADA, submission)
    marker = tmp_path / "imported-unsandboxed"
    for module in ("yaml.py", "numpy.py", "grader.py", "json.py"):
        (submission / module).write_text(f"open({str(marker)!r}, 'a').write({module!r})\nraise ImportError\n")
    data = yaml.safe_load(RUBRIC.read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "conv_matrix.published"]
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(yaml.safe_dump(data, sort_keys=False))
    command = Path(sys.executable).with_name("grader")  # the console script: its own folder, not here, is on its path
    done = subprocess.run([str(command), "check", "--rubric", str(rubric)], cwd=submission, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "COLUMNS": "200"})
    assert not marker.exists(), marker.read_text()
    assert done.returncode == 0 and "every visible check passes" in done.stdout, done.stdout + done.stderr


def test_the_child_environment_is_an_allow_list_of_exact_names():
    from grader.boundary.zygote import child_environment

    hostile = {"NVIDIA_API_KEY": SECRET, "CUDA_TOKEN": SECRET, "LC_TOKEN": SECRET, "GRADER_API_TOKEN": SECRET,
               "PATH": "/home/instructor/private/bin:/usr/bin", "LC_ALL": "C.UTF-8", "CUDA_VISIBLE_DEVICES": "0"}
    passed = child_environment(hostile)
    assert SECRET not in repr(passed) and "private" not in passed["PATH"]
    assert passed["LC_ALL"] == "C.UTF-8" and passed["CUDA_VISIBLE_DEVICES"] == "0"
