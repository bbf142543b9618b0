"""The three performance benchmarks in one run: throughput, self-check, scale.

Run from the repository root (about 10 minutes on 2 cores):

    .venv/bin/python benchmarks/performance.py

Each part is also a script of its own (benchmarks/throughput.py, selfcheck.py, scale.py)
with options; this runs each with its defaults. Nothing here asserts a timing: the figures
depend on the machine, which is printed with them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # noqa: E402
import selfcheck  # noqa: E402
import throughput  # noqa: E402


def main() -> None:
    started = time.perf_counter()
    for part in (throughput, selfcheck, scale):
        print(f"==== {part.__name__} " + "=" * (60 - len(part.__name__)))
        part.main([])
        print(flush=True)
    print(f"All three in {time.perf_counter() - started:.0f} s. Reproduce: .venv/bin/python benchmarks/performance.py")


if __name__ == "__main__":
    main()
