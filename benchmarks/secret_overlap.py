"""How many of final grading's generated inputs a student kit's public draw also holds.

Run from the repository root:

    .venv/bin/python benchmarks/secret_overlap.py [--secrets 3]

Property items draw their inputs from a seed that mixes the item's id with the grading secret;
a kit holds the public draw (no secret). Hypothesis tries its simplest inputs under every
seed, so some inputs coincide. For each property item of the bundled rubric (each part on its
own), this draws the public table and the table of each of `--secrets` secrets, and counts the
secret table's inputs that are also in the public one. Nothing is cached: every table is drawn.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--secrets", type=int, default=3, help="secrets drawn against the public draw (default 3)")
    args = parser.parse_args(argv)
    os.environ["GRADER_CACHE_DIR"] = "off"  # before the grader is imported: every table drawn here

    from grader.checks import property as prop
    from grader.kit.record import digest
    from grader.rubric import load_rubric

    rubric = load_rubric(benchlib.BUNDLED_RUBRIC, secret=False)
    secrets = [f"secret number {number}".encode() for number in range(1, args.secrets + 1)]
    print(benchlib.machine())
    print(f"{'item':<28} {'inputs':>6}  shared with the public draw, per secret")
    everything = []
    for item in rubric.items:
        if item.kind != "property":
            continue
        public = {digest(inputs) for inputs, _ in prop.replay(rubric, item)}
        shared = []
        for secret in secrets:
            table = prop.replay(dataclasses.replace(rubric, secret=secret), item)
            shared.append(sum(digest(inputs) in public for inputs, _ in table))
        everything += shared
        print(f"{item.id:<28} {len(table):>6}  {', '.join(map(str, shared))}")
    print(f"From {min(everything)} to {max(everything)} shared inputs per item and secret "
          f"({len(everything)} tables of {len(secrets)} secrets)")
    print(f"Reproduce: .venv/bin/python benchmarks/secret_overlap.py --secrets {args.secrets}")


if __name__ == "__main__":
    main()
