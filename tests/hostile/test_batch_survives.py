"""A batch with hostile submissions among the honest: every student gets a row, and nothing outlives the batch."""

import csv
import io
import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest
import torch
import yaml

from grader.api import grade_submission
from grader.batch import grade_folder
from grader.rubric import load_rubric

from .conftest import ADA, RUBRIC

ITEMS = ["conv_matrix.published", "softmax.stability", "focal_loss.reweight_published", "theory.conv_matrix.shape",
         "cnn.checkpoint"]
CHILD_UID = 100_000  # sandboxed children run as 100000 + pid


@pytest.fixture
def small_rubric(tmp_path):
    data = yaml.safe_load(RUBRIC.read_text())
    items = [item for item in data["items"] if item["id"] in ITEMS]
    for item in items:
        item["timeout_s"] = 3
    small = {"title": data["title"], "mistakes": data["mistakes"], "submission_timeout_s": 60, "items": items}
    path = tmp_path / "rubric" / "small.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(small, sort_keys=False))
    return load_rubric(path)


def student(folder: Path, name: str, files: dict) -> None:
    shutil.copytree(ADA, folder / name)
    for relative, content in files.items():
        (folder / name / relative).write_bytes(content if isinstance(content, bytes) else content.encode())


class _RunsCommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def forger(out: Path, batch: Path) -> str:
    """Knows exactly where the results go: forges its own and ada's, sabotages ada's source, then cheats."""
    return f'''
import json, os
FORGED = json.dumps({{"student": "eve_forger", "score": 1000, "max_score": 9, "items": []}})
for path, text in [({str(out / "eve_forger" / "result.json")!r}, FORGED),
                   ({str(out / "ada_lovelace" / "result.json")!r}, FORGED),
                   ({str(out / "gradebook.csv")!r}, "student,score\\neve_forger,1000\\n"),
                   ({str(out / "pwned.txt")!r}, "pwned"),
                   ({str(batch / "ada_lovelace" / "conv_matrix.py")!r}, "raise SystemExit('sabotaged')\\n"),
                   ("../result.json", FORGED), ("/tmp/result.json", FORGED)]:
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    except OSError:
        pass
print(FORGED)


def conv_as_matrix(kernel, input_shape, stride=1, padding=0):
    return [[1000.0]]
'''


def zip_bomb(path: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for file in sorted(ADA.rglob("*")):
            if file.is_file():
                bundle.write(file, f"{path.stem}/{file.relative_to(ADA).as_posix()}")
        with bundle.open(f"{path.stem}/data.bin", "w") as handle:
            block = bytes(1 << 20)
            for _ in range(300):
                handle.write(block)


def child_processes() -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if uid >= CHILD_UID:
            found.append(f"{entry.name} uid {uid}: {status.splitlines()[0]}")
    return found


def test_a_batch_with_hostile_submissions_grades_everyone(tmp_path, small_rubric, zygote):
    batch, out = tmp_path / "batch", tmp_path / "out"
    batch.mkdir()
    shutil.copytree(ADA, batch / "ada_lovelace")
    ada_source = (ADA / "conv_matrix.py").read_bytes()
    malicious = io.BytesIO()
    torch.save({"conv1.weight": _RunsCommand(f"touch {tmp_path / 'pwned-by-checkpoint'}")}, malicious)
    student(batch, "bob_exits_at_import", {"conv_matrix.py": "import os\nos._exit(3)\n"})
    student(batch, "cat_memory_bomb", {"softmax_classifier.py": "def softmax(logits):\n"
                                       "    hoard = []\n    while True:\n        hoard.append(b'x' * (64 << 20))\n"})
    student(batch, "dan_infinite_loop", {"focal_loss.py": "def reweight(cls_num_list, beta=0.9999):\n"
                                         "    while True:\n        pass\n"})
    student(batch, "eve_forger", {"conv_matrix.py": forger(out, batch)})
    zip_bomb(batch / "fay_zip_bomb.zip")
    student(batch, "gus_pickle", {"checkpoints/my_model.pt": malicious.getvalue()})
    # What each hostile submission must lose, and how; every other item keeps its points.
    expected = {
        "bob_exits_at_import": {"conv_matrix.published": ("error",)},
        "cat_memory_bomb": {"softmax.stability": ("error", "timeout")},
        "dan_infinite_loop": {"focal_loss.reweight_published": ("timeout",)},
        "eve_forger": {"conv_matrix.published": ("failed",)},
        "fay_zip_bomb": {item: ("error",) for item in ITEMS},
        "gus_pickle": {"cnn.checkpoint": ("error",)},
    }
    students = ["ada_lovelace", *expected]

    started = time.monotonic()
    done = grade_folder(batch, small_rubric, out, jobs=2)
    elapsed = time.monotonic() - started

    assert sorted(result.student for result in done.results) == students
    with (out / "gradebook.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["student", "score", "max_score", *ITEMS]
    assert [row[0] for row in rows[1:]] == students, rows
    by_student = {row[0]: dict(zip(rows[0], row)) for row in rows[1:]}

    alone = grade_submission(ADA, small_rubric, zygote=zygote)
    assert alone.score == alone.max_score == 8
    assert by_student["ada_lovelace"]["score"] == by_student["ada_lovelace"]["max_score"] == "8"
    assert (batch / "ada_lovelace" / "conv_matrix.py").read_bytes() == ada_source, "eve changed ada's source"

    for name in students:
        result = json.loads((out / name / "result.json").read_text())  # valid JSON, or this raises
        assert result["student"] == name and result["rubric_sha256"] == small_rubric.sha256
        assert [item["id"] for item in result["items"]] == ITEMS
        assert float(by_student[name]["score"]) == result["score"]
        if name == "ada_lovelace":
            assert {item["id"]: item["score"] for item in result["items"]} == \
                {item.id: item.score for item in alone.items}
            continue
        for item in result["items"]:
            statuses = expected[name].get(item["id"])
            if statuses is None:
                assert item["status"] == "passed" and item["score"] == item["max_score"], (name, item)
            else:
                assert item["status"] in statuses and item["score"] == 0, (name, item)
                assert item["output"].strip(), (name, item)
    fay = json.loads((out / "fay_zip_bomb" / "result.json").read_text())
    assert all("could not be opened" in item["output"] for item in fay["items"])
    assert "UnpicklingError" in json.loads((out / "gus_pickle" / "result.json").read_text())["items"][-1]["output"]

    assert not (out / "pwned.txt").exists() and not (tmp_path / "pwned-by-checkpoint").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(["gradebook.csv", "grading.log", *students])
    assert elapsed < 80, f"the batch took {elapsed:.0f} s"

    deadline = time.monotonic() + 5  # a child killed at the very end may still be being reaped
    while child_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert child_processes() == []
