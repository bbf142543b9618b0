"""Command-line entry point. Argument parsing and printing only; the work lives in grader.api."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from grader import __version__

DEFAULT_RUBRIC = "rubrics/assignment2.yaml"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade numerical deep-learning submissions against trusted references.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    commands = parser.add_subparsers(dest="command")

    rubric = commands.add_parser("rubric", help="work with rubric files")
    rubric_commands = rubric.add_subparsers(dest="rubric_command", required=True)
    validate = rubric_commands.add_parser("validate", help="check a rubric completely, without running student code")
    validate.add_argument("file", help="the rubric YAML file")

    grade = commands.add_parser("grade", help="grade every submission (folder or .zip) in a folder")
    grade.add_argument("submissions", help="folder holding one folder or .zip per student")
    grade.add_argument("--rubric", default=DEFAULT_RUBRIC, help=f"rubric file (default {DEFAULT_RUBRIC})")
    grade.add_argument("--out", default="results", help="where <student>/result.json go (default results/)")
    grade.add_argument("--strict", action="store_true", help="refuse to grade without every isolation layer")

    commands.add_parser("isolation", help="show the isolation layers student code gets on this machine")
    return parser


def validate_rubric(path: str) -> int:
    from grader.rubric import RubricError, load_rubric

    try:
        rubric = load_rubric(path)
    except RubricError as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        print(f"{len(error.problems)} problem{'s' if len(error.problems) != 1 else ''} in {path}", file=sys.stderr)
        return 2
    kinds: dict[str, int] = {}
    for item in rubric.items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{path}: valid; {len(rubric.items)} items ({summary}), {rubric.max_score:g} points")
    return 0


def grade(args) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from grader.api import find_submissions, grade_submission, write_result
    from grader.boundary import IsolationError
    from grader.rubric import RubricError, load_rubric

    console = Console()
    try:
        rubric = load_rubric(args.rubric)
        paths = find_submissions(args.submissions)
    except RubricError as error:
        print("\n".join(error.problems), file=sys.stderr)
        return 2
    except NotADirectoryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    results = []
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("grading", total=len(paths))
        for path in paths:
            progress.update(task, description=f"grading {path.name}")
            try:
                result = grade_submission(path, rubric, strict=args.strict, hide=[args.out])
            except IsolationError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            write_result(result, args.out)
            results.append(result)
            progress.advance(task)
    table = Table(title=f"{rubric.title}: {len(results)} submissions, results in {args.out}/")
    table.add_column("student")
    table.add_column("score", justify="right")
    table.add_column("not passed")
    for result in results:
        lost = [f"{i.id} ({i.status}{', ' + i.diagnosis if i.diagnosis else ''})" for i in result.items if i.status != "passed"]
        table.add_row(result.student, f"{result.score:g} / {result.max_score:g}", "\n".join(lost) or "-")
    console.print(table)
    return 0


def isolation() -> int:
    from grader.api import probe_isolation
    from grader.boundary import STRICT_LAYERS

    report = probe_isolation()
    print(json.dumps(report, indent=2))
    missing = [layer for layer in STRICT_LAYERS if not report.get(layer)]
    print("strict mode: " + ("available" if not missing else f"unavailable, missing {', '.join(missing)}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "rubric":
        return validate_rubric(args.file)
    if args.command == "grade":
        return grade(args)
    if args.command == "isolation":
        return isolation()
    parser.print_help()
    return 0
