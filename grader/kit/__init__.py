"""Student kits: the visible checks recorded, so that a student self-checks without the reference.

`grader kit build` writes one (grader.kit.build); `grader check` run inside it finds its record
(find_kit) and grades from it (grader.kit.record); the instructor's own `grader check` grades
from the same record, made from the reference (record.self_check_rubric), so both give the same
verdicts. This module imports nothing heavy: the command reads a kit's summary before torch loads.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

KIT_FOLDER = ".selfcheck"  # inside the student's folder; never part of a submission (grader.submission)
KIT_FILE = "checks.bin"
MAGIC = b"grader-kit\0"
_SUMMARY_LIMIT = 4096


def encode_summary(summary: dict) -> bytes:
    text = json.dumps(summary, sort_keys=True).encode()
    return struct.pack(">I", len(text)) + text


def read_summary(raw: bytes) -> dict | None:
    """The summary at the head of a record (its format, whether it trains), and where its body starts."""
    if not raw.startswith(MAGIC) or len(raw) < len(MAGIC) + 4:
        return None
    (size,) = struct.unpack(">I", raw[len(MAGIC):len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if size > _SUMMARY_LIMIT or len(raw) < start + size:
        return None
    try:
        summary = json.loads(raw[start:start + size])
    except ValueError:
        return None
    return {**summary, "end": start + size} if isinstance(summary, dict) else None


def kit_summary(path) -> dict | None:
    """The summary of the record at `path`, reading only its head; None when it is not a record."""
    try:
        with open(path, "rb") as handle:
            return read_summary(handle.read(len(MAGIC) + 4 + _SUMMARY_LIMIT))
    except OSError:
        return None


def find_kit(folder) -> Path | None:
    """The record of the kit `folder` is, if it is one. Only the folder itself: a kit in a folder
    above (anyone's, in a shared temp folder) is never picked up silently (see kit_above)."""
    candidate = Path(folder) / KIT_FOLDER / KIT_FILE
    return candidate.resolve() if candidate.is_file() else None


def kit_above(folder) -> Path | None:
    """The nearest folder above `folder` that is a kit, to say where a self-check should run."""
    for place in Path(folder).resolve().parents:
        if (place / KIT_FOLDER / KIT_FILE).is_file():
            return place
    return None


def is_kit_file(path) -> bool:
    return kit_summary(path) is not None
