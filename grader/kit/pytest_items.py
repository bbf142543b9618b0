"""A kit's checks as pytest tests (the kit's test_selfcheck.py): one test per item, each graded on
its own when it runs, so that `pytest -k NAME` runs only the checks it selects."""

from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path

from grader.kit import find_kit


def item_ids(test_file: str) -> list[str]:
    """The ids of the visible checks of the kit `test_file` lies in."""
    return [item.id for item in _rubric(str(Path(test_file).resolve().parent)).items]


def verdict(test_file: str, item_id: str) -> tuple[bool, str]:
    """(passed, what to print): the item graded on the folder's code, shown as `grader check` shows it."""
    from rich.console import Console

    from grader.api import grade_submission
    from grader.reports.terminal import print_item, print_problems
    from grader.results import stopped_items

    folder = str(Path(test_file).resolve().parent)
    rubric = _rubric(folder)
    result = grade_submission(folder, rubric, items=[item_id])
    item = result.item(item_id)
    if item.status == "passed":
        return True, ""
    console = Console(file=io.StringIO(), width=110, record=True, color_system=None)
    stopped = stopped_items(result).get(item_id)
    if stopped is not None:  # the item says only that this problem stopped it
        print_problems(console, [stopped])
    print_item(console, item, next(i.call for i in rubric.items if i.id == item_id) or None)
    return False, console.export_text()


@lru_cache(maxsize=None)
def _rubric(folder: str):
    from grader.kit.record import load_kit_file

    kit = find_kit(folder)
    if kit is None:
        raise FileNotFoundError(f"{folder} is not a self-check kit: its .selfcheck folder is missing")
    return load_kit_file(kit)
