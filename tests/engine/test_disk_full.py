"""A full output disk stops grading with a message and a non-zero exit, and leaves no report half-written."""

import ctypes
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
_libc = ctypes.CDLL(None, use_errno=True)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 KiB tmpfs: room for a few reports, not for a batch's."""
    mount = tmp_path / "out"
    mount.mkdir()
    if _libc.mount(b"tmpfs", str(mount).encode(), b"tmpfs", 0, b"size=24k") != 0:
        pytest.fail("mounting a tmpfs needs root, which the machines this suite runs on have")
    yield mount
    _libc.umount2(str(mount).encode(), 2)  # MNT_DETACH


def test_full_disk_stops_the_batch_without_a_truncated_gradebook(tmp_path, tiny_disk):
    rubric = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    rubric["items"] = [item for item in rubric["items"] if item["id"] in ("conv_matrix.published", "softmax.stability")]
    rubric_path = tmp_path / "rubric.yaml"
    rubric_path.write_text(yaml.safe_dump(rubric))
    batch = tmp_path / "batch"
    batch.mkdir()
    for number in range(12):
        shutil.copytree(ROOT / "submissions" / "carl_flipped_kernel", batch / f"student_{number:02d}")
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(batch), "--rubric", str(rubric_path),
                           "--out", str(tiny_disk), "--jobs", "1"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "No space left on device" in done.stderr and "Traceback" not in done.stderr
    assert not (tiny_disk / "gradebook.csv").exists(), "no gradebook that could pass for a complete one"
    assert not list(tiny_disk.rglob("*.partial")), "temporary files are removed"
    written = list(tiny_disk.glob("*/result.json"))
    assert 0 < len(written) < 12
    for path in written:
        assert json.loads(path.read_text())["score"] >= 0, "every result present is whole"
