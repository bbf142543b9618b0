"""A course's settings: the [tool.grader] table of the nearest pyproject.toml above the working folder.

A course names its rubric once, relative to that file (`rubric = "rubrics/week3.yaml"`), so every
command run anywhere inside the course finds it without a flag. Nothing is read relative to the
working folder itself. Only the standard library: these lookups run before torch loads.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

CONFIG_FILE = "pyproject.toml"
# How a command is given a rubric, for the fix in each message: most take --rubric, `rubric validate` its argument.
PASS_RUBRIC = "pass --rubric FILE"


def no_rubric(instead: str = PASS_RUBRIC) -> str:
    return f"no rubric: {instead}, or name it in [tool.grader] rubric = ... in your course's pyproject.toml"


NO_RUBRIC = no_rubric()


class CourseError(ValueError):
    """Settings that cannot be used; the message names the file, the reason and the fix."""


def _read(path: Path, instead: str) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as error:
        raise CourseError(f"cannot read {path} ({error.strerror or error}); fix its permissions, "
                          f"or {instead}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise CourseError(f"{path} is not valid TOML ({error}); fix it, or {instead}") from None


def course_settings(start=None, instead: str = PASS_RUBRIC) -> tuple[Path, dict] | None:
    """(the pyproject.toml, its [tool.grader] table) nearest above `start` (default: the working
    folder), or None when no pyproject.toml up to the root has one. `instead`: the other fix an error names."""
    try:
        here = Path(start).resolve() if start is not None else Path.cwd()
    except OSError as error:  # the working folder was removed under the shell
        raise CourseError(f"cannot tell where this runs ({error.strerror or error}): change to the course's folder, "
                          f"or {instead}") from None
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_FILE
        if not os.path.isfile(candidate):  # never raises, whatever the folder's permissions
            continue
        tool = _read(candidate, instead).get("tool", {})
        if not isinstance(tool, dict):
            raise CourseError(f"{candidate}: 'tool' must be a table; fix it, or {instead}")
        if "grader" in tool:
            if not isinstance(tool["grader"], dict):
                raise CourseError(f"{candidate}: tool.grader must be a table ([tool.grader] with rubric = \"FILE\"); "
                                  f"fix it, or {instead}")
            return candidate.absolute(), tool["grader"]
    return None


def course_rubric(start=None, instead: str = PASS_RUBRIC) -> Path:
    """The rubric the course's settings name, checked to be a file; CourseError (saying the fix) otherwise."""
    found = course_settings(start, instead)
    if found is None:
        raise CourseError(no_rubric(instead))
    config, settings = found
    if "rubric" not in settings:
        raise CourseError(f"no rubric: {config} has [tool.grader] but no rubric = \"FILE\" in it; add it "
                          f"(relative to that file), or {instead}")
    name = settings["rubric"]
    if not isinstance(name, str) or not name.strip():
        raise CourseError(f"{config}: [tool.grader] rubric must be a file name in quotes, relative to that file "
                          f"(got {name!r:.80}); fix it, or {instead}")
    rubric = config.parent / name
    if not rubric.is_file():
        raise CourseError(f"{config} names the rubric {name!r}, but {rubric} is not a file; fix the name "
                          f"(relative to that file), or {instead}")
    return rubric
