"""The student kit of the bundled rubric: how long it takes to build, and how large it is.

Run from the repository root:

    .venv/bin/python benchmarks/kit.py

Builds the kit with an empty cache (`grader kit build`'s work: recording the reference's
answers on every visible input), then prints the size of the recorded checks, compressed and
inflated, and of the engine's wheel. The training items' share is the difference from a kit of
the same rubric without its training items. Last, the instructor's side: `grader check` with
the rubric records the same checks into the cache once, and later runs load them; each is
timed in a fresh process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

LOAD = r"""
import sys, time
from grader.kit.record import self_check_rubric
from grader.rubric import load_rubric
rubric = load_rubric(sys.argv[1], secret=False)
started = time.perf_counter()
self_check_rubric(rubric)
print(time.perf_counter() - started)
"""


def build(rubric: Path, where: Path, documents: bool = True) -> tuple[float, Path]:
    """Seconds to build the kit of `rubric` with an empty cache, and its folder."""
    from grader.kit.build import write_kit
    from grader.rubric import load_rubric

    loaded = load_rubric(rubric, secret=False)
    started = time.perf_counter()
    folder = write_kit(loaded, where, [Path(p) for p in loaded.kit_documents] if documents else [])
    return time.perf_counter() - started, folder


def record_seconds(rubric: Path, cache: str) -> float:
    done = subprocess.run([sys.executable, "-c", LOAD, str(rubric)], capture_output=True, text=True, cwd=benchlib.ROOT,
                          env={**os.environ, "GRADER_CACHE_DIR": cache}, check=True)
    return float(done.stdout.split()[-1])


def main(argv=None) -> None:
    from grader.kit import read_summary

    print(benchlib.machine())
    print(benchlib.load_average())
    with tempfile.TemporaryDirectory(prefix="grader-kit-bench-") as scratch:
        scratch = Path(scratch)
        os.environ["GRADER_CACHE_DIR"] = str(scratch / "cache")  # empty: the build records everything
        seconds, kit = build(benchlib.BUNDLED_RUBRIC, scratch / "kit")
        record = next(kit.glob(".selfcheck/*.bin"))
        raw = record.read_bytes()
        inflated = len(zlib.decompress(raw[read_summary(raw)["end"]:]))
        wheel = next(kit.glob(".selfcheck/*.whl"))
        wheel_bytes = wheel.stat().st_size
        os.environ["GRADER_CACHE_DIR"] = str(scratch / "cache-numeric")
        # Its documents are the bundled rubric's, beside that rubric: only the record is compared.
        _, numeric = build(benchlib.numeric_rubric(scratch / "rubric"), scratch / "kit-numeric", documents=False)
        without_training = next(numeric.glob(".selfcheck/*.bin")).stat().st_size
        cache = str(scratch / "cache-check")
        first = record_seconds(benchlib.BUNDLED_RUBRIC, cache)
        later = record_seconds(benchlib.BUNDLED_RUBRIC, cache)
    print(f"grader kit build, empty cache: {seconds:.1f} s")
    print(f"{record.name}: {len(raw) / 1e6:.1f} MB ({(len(raw) - without_training) / 1e6:.1f} MB of it the training "
          f"items: the kit without training items records {without_training / 1e6:.1f} MB), {inflated / 1e6:.0f} MB inflated")
    print(f"{wheel.name}: {wheel_bytes / 1e3:.0f} KB")
    print(f"grader check with the rubric: recording the checks {first:.1f} s once, then {later:.2f} s to load them")
    print("Reproduce: .venv/bin/python benchmarks/kit.py")


if __name__ == "__main__":
    main()
