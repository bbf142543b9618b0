"""`grader kit build`: the folder (or zip) an instructor publishes with the assignment.

    README.md              how to install the self-check and run it
    <documents>            the rubric's `kit: documents:` (the assignment's contract)
    <starter files>        every graded file: signatures and docstrings, bodies that raise
    test_selfcheck.py      the same checks as pytest tests
    .selfcheck/checks.bin  the visible checks, recorded (grader.kit.record)
    .selfcheck/<wheel>     the grader engine, without any reference package

Nothing of the reference's code is in it, and nothing of an item that is not visible.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

from grader import __version__
from grader.kit import KIT_FILE, KIT_FOLDER
from grader.kit.record import KitError, withheld_groups, kit_bytes
from grader.kit.starter import answers_template, starter_module
from grader.kit.wheel import DISTRIBUTION, write_wheel
from grader.rubric import Rubric

ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # the same kit, byte for byte, from the same rubric


def starter_files(rubric: Rubric) -> dict[str, str]:
    """file name -> starter text, for every file a visible or hidden item grades (a kit lists them all,
    as the assignment does; only the answers template is limited to the visible answers)."""
    symbols: dict[str, list[str]] = {}
    sources: dict[str, str] = {}
    answers: dict[str, list[str]] = {}
    for item in rubric.items:
        if item.kind == "answers":
            if item.visibility == "visible" and item.answer not in answers.setdefault(item.target.file, []):
                answers[item.target.file].append(item.answer)
            continue
        if not item.target.file.endswith(".py") or item.target.symbol is None:
            continue
        names = symbols.setdefault(item.target.file, [])
        if item.target.symbol not in names:
            names.append(item.target.symbol)
        sources.setdefault(item.target.file, item.reference.split(":")[0])
    roots = rubric.reference_roots()
    files = {}
    for filename, module in sources.items():
        spec = importlib.util.find_spec(module)
        if spec is None or spec.origin is None:
            raise KitError(f"the reference module {module} of {filename} cannot be found")
        files[filename] = starter_module(Path(spec.origin).read_text(encoding="utf-8"), symbols[filename], banned_roots=roots)
    for filename, paths in answers.items():
        files[filename] = answers_template(paths, header="Your written answers: replace each null (see the assignment for the format).")
    return files


def _readme(rubric: Rubric, wheel: str, documents: list[str]) -> str:
    checked = [item for item in rubric.items if item.visibility == "visible" and item.kind != "answers"]
    lines = [
        f"# {rubric.title}: your self-check",
        "",
        "This folder is your working folder: write your code in the files here, then check it.",
        "",
        "```",
        f"python -m pip install {KIT_FOLDER}/{wheel}",
        "grader check",
        "```",
        "",
        "The first command installs the grader's engine, with torch, numpy and a few small libraries",
        "(pip's default torch build is large: if you have no GPU, install PyTorch's CPU-only build first,",
        "as PyTorch's own install instructions show). The second, run inside this folder, grades your",
        "files with the same visible checks as final grading, and shows each failure with its input,",
        "the expected value and yours, and the likely mistake. `grader check path/to/work.zip`, run",
        "here, checks a zip of your work.",
        "",
        "`pytest` in this folder runs the same checks as tests, one per item (install it with",
        "`python -m pip install pytest`; `pytest -k NAME` runs only the checks whose name matches).",
        "",
        f"Checked here: {len(checked)} items, {sum(item.points for item in checked):g} points.",
    ]
    for what, count, points in withheld_groups(rubric.items):
        lines.append(f"Not checked here: {count} {what}{'s' if count != 1 else ''}, graded only in final grading, "
                     f"worth {points:g} points.")
    lines += [
        "",
        "Final grading calls your code on other generated inputs than this kit's, drawn with a key",
        "only the instructor has: code that returns the answers stored here, rather than computing",
        "them, passes this self-check and loses those points.",
        "",
        "The self-check runs your code in a separate process with time limits; on Linux it also",
        "isolates it where the system allows. Where a layer is missing (macOS, Windows, a container",
        "without privileges) it says so once and goes on: you are checking only your own code.",
        "",
        f"Hand in the files listed in {documents[0] if documents else 'the assignment'}; the `{KIT_FOLDER}` folder is",
        "ignored by grading.",
        "",
    ]
    return "\n".join(lines)


SELF_CHECK_TESTS = '''"""The self-check as pytest tests: run `pytest` in this folder.

Every visible check is one test; the checks run once, on the first test, then each test
reports its own item. `grader check` shows the same verdicts.
"""

import pytest

from grader.kit.pytest_items import item_ids, verdict

HERE = __file__


@pytest.mark.parametrize("item_id", item_ids(HERE))
def test_visible_check(item_id):
    passed, message = verdict(HERE, item_id)
    if not passed:
        pytest.fail(message, pytrace=False)
'''


def write_kit(rubric: Rubric, output, documents: list[Path], progress=None) -> Path:
    """Write the kit into folder `output`, or into a zip when it ends in .zip; refuse to overwrite a file."""
    output = Path(output)
    missing = [str(document) for document in documents if not Path(document).is_file()]
    if missing:
        raise KitError(f"the rubric's kit documents are missing: {', '.join(missing)}")
    record = kit_bytes(rubric, progress=progress)
    with tempfile.TemporaryDirectory(prefix="grader-kit-") as scratch:
        folder = Path(scratch) / (output.stem if output.suffix.lower() == ".zip" else output.name)
        (folder / KIT_FOLDER).mkdir(parents=True)
        (folder / KIT_FOLDER / KIT_FILE).write_bytes(record)
        wheel = write_wheel(folder / KIT_FOLDER)
        names = []
        for document in documents:
            shutil.copyfile(document, folder / document.name)
            names.append(document.name)
        for filename, text in starter_files(rubric).items():
            (folder / filename).write_text(text, encoding="utf-8")
        (folder / "test_selfcheck.py").write_text(SELF_CHECK_TESTS, encoding="utf-8")
        (folder / "README.md").write_text(_readme(rubric, wheel.name, names), encoding="utf-8")
        if output.suffix.lower() == ".zip":
            _zip(folder, output)
        else:
            if output.exists() and any(output.iterdir()):
                raise KitError(f"{output} exists and is not empty; choose a new folder or remove it")
            output.mkdir(parents=True, exist_ok=True)
            shutil.copytree(folder, output, dirs_exist_ok=True)
    return output


def _zip(folder: Path, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                info = zipfile.ZipInfo(f"{folder.name}/{path.relative_to(folder).as_posix()}", ZIP_TIME)
                info.external_attr = 0o644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes())
    os.replace(partial, output)


__all__ = ["write_kit", "starter_files", "DISTRIBUTION", "__version__"]
