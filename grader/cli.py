"""Command-line entry point. Argument parsing only; the work lives elsewhere."""

from __future__ import annotations

import argparse
import sys

from grader import __version__


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
    kinds = {}
    for item in rubric.items:
        kinds[item.kind] = kinds.get(item.kind, 0) + 1
    summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items()))
    print(f"{path}: valid; {len(rubric.items)} items ({summary}), {rubric.max_score:g} points")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "rubric":
        return validate_rubric(args.file)
    parser.print_help()
    return 0
