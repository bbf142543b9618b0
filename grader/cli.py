"""Command-line entry point. Argument parsing only; the work lives elsewhere."""

from __future__ import annotations

import argparse

from grader import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="grader",
        description="Grade numerical deep-learning submissions against trusted references.",
    )
    parser.add_argument("--version", action="version", version=f"grader {__version__}")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
