"""Student kits: the visible checks recorded, so that a student self-checks without the reference.

`grader kit build` writes one (grader.kit.build); `grader check` run inside it finds its
record (find_kit); the instructor's own `grader check` grades from the same record, made
here from the reference (self_check_rubric), so both give the same verdicts.
"""

from __future__ import annotations

from pathlib import Path

import hypothesis
import numpy as np
import torch

from grader import __version__, cache
from grader.kit.record import FORMAT, MAGIC, KitError, kit_bytes, load_kit
from grader.rubric import Rubric

KIT_FOLDER = ".selfcheck"  # inside the student's folder; never part of a submission (grader.submission)
KIT_FILE = "checks.bin"


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
    try:
        with open(path, "rb") as handle:
            return handle.read(len(MAGIC)) == MAGIC
    except OSError:
        return False


def load_kit_file(path) -> Rubric:
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise KitError(f"{path}: cannot read the self-check file ({error.strerror or error})") from None
    return load_kit(raw, str(path))


def self_check_rubric(rubric: Rubric, progress=None) -> Rubric:
    """The rubric as a student's kit holds it, recorded from the reference (kept in the disk cache)."""
    packages = sorted(rubric.reference_roots())
    name = "kit-" + cache.key(rubric.sha256, [item.id for item in rubric.items], FORMAT, __version__, {p: cache.source_digest(p) for p in [*packages, "grader"]},
                              hypothesis.__version__, np.__version__, torch.__version__)
    stored = cache.load(name)
    raw = stored[1][0] if stored and stored[1] else None
    if raw is not None:
        try:
            return load_kit(raw, rubric.path)
        except KitError:
            pass
    raw = kit_bytes(rubric, progress=progress)
    cache.store(name, {"kit": FORMAT}, [raw])
    return load_kit(raw, rubric.path)


__all__ = ["KIT_FOLDER", "KIT_FILE", "KitError", "find_kit", "is_kit_file", "kit_above", "load_kit_file", "self_check_rubric"]
