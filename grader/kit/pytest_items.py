"""A kit's checks as pytest tests (the kit's test_selfcheck.py): graded once, reported per item."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from grader.kit import find_kit, load_kit_file


def item_ids(test_file: str) -> list[str]:
    """The ids of the visible checks of the kit `test_file` lies in."""
    return [item.id for item in _rubric(str(Path(test_file).resolve().parent)).items]


def verdict(test_file: str, item_id: str) -> tuple[bool, str]:
    """(passed, what to print) for one item of the folder's self-check."""
    item = _result(str(Path(test_file).resolve().parent)).item(item_id)
    lines = [f"{item.id}: {item.score:g} / {item.max_score:g} points, {item.status}", item.output]
    for key, value in (item.counterexample or {}).items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [f"  {name} = {text}" for name, text in value.items()]
        else:
            lines.append(f"{key}: {value}")
    return item.status == "passed", "\n".join(lines)


@lru_cache(maxsize=None)
def _rubric(folder: str):
    kit = find_kit(folder)
    if kit is None:
        raise FileNotFoundError(f"{folder} is not a self-check kit: its .selfcheck folder is missing")
    return load_kit_file(kit)


@lru_cache(maxsize=None)
def _result(folder: str):
    from grader.api import grade_submission

    return grade_submission(folder, _rubric(folder))
