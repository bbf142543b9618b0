"""Scale: `grader grade` on batches of 10, 40 and 160 submissions; how the cost grows, and peak memory.

Run from the repository root:

    .venv/bin/python benchmarks/scale.py [--counts 10 40 160] [--jobs 2]

Each batch is copies of the bundled submissions graded with the bundled rubric less its
training items, by a fresh `grader grade` process with the cache of generated inputs already
filled (a first batch is in benchmarks/throughput.py). A straight line, wall = fixed +
per-submission x count, is fitted by least squares: linear growth shows as a small residual
and a per-submission cost that does not rise with the batch. Peak memory is sampled from
/proc for every process of each run, by role.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402


def fit(points: list[tuple[int, float]]) -> tuple[float, float]:
    """Least-squares (fixed, per-item) for wall = fixed + per_item * count."""
    n = len(points)
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sum((x - mean_x) ** 2 for x, _ in points)
    return mean_y - slope * mean_x, slope


def measure(counts: list[int], jobs: int) -> dict:
    runs = {}
    with tempfile.TemporaryDirectory(prefix="grader-scale-") as temp:
        temp = Path(temp)
        rubric = benchlib.numeric_rubric(temp / "rubric")
        cache = str(temp / "cache")
        warm = benchlib.copies(temp / "warm", 2)
        benchlib.grade_with_cli(warm, rubric, temp / "warm-out", jobs, cache)  # fills the cache
        for count in counts:
            folder = benchlib.copies(temp / f"batch-{count}", count)
            runs[count] = benchlib.grade_with_cli(folder, rubric, temp / f"out-{count}", jobs, cache, memory=True)
    return runs


def report(runs: dict, jobs: int) -> None:
    print(f"{'submissions':>11} {'wall':>8} {'per min':>8} {'wall/sub':>9} {'checks/sub':>10}  peak memory (RSS)")
    for count, run in runs.items():
        print(f"{count:>11} {run['wall_s']:>6.1f} s {60 * count / run['wall_s']:>8.1f} {run['wall_s'] / count:>7.3f} s "
              f"{sum(run['items_s']) / count:>8.3f} s  {run['memory']}")
    points = [(count, run["wall_s"]) for count, run in runs.items()]
    if len(points) >= 2:
        fixed, per_item = fit(points)
        worst = max(abs(y - (fixed + per_item * x)) / y for x, y in points)
        print(f"Fit: wall = {fixed:.1f} s + {per_item:.3f} s x submissions ({jobs} jobs); largest residual "
              f"{100 * worst:.1f}% of a run's wall time")
        if len(points) >= 3:
            (x1, y1), (x2, y2) = points[-2], points[-1]
            (x0, y0) = points[0]
            print(f"Marginal cost per submission: {(points[1][1] - y0) / (points[1][0] - x0):.3f} s from {x0} to "
                  f"{points[1][0]}, {(y2 - y1) / (x2 - x1):.3f} s from {x1} to {x2} (equal when growth is linear)")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 40, 160], help="batch sizes (default 10 40 160)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once (default 2)")
    args = parser.parse_args(argv)
    print(f"Scale: grader grade --jobs {args.jobs} on {', '.join(map(str, args.counts))} submissions "
          f"(bundled rubric without training items, cache filled)")
    print(f"Machine: {benchlib.machine()}; {benchlib.load_average()} before")
    report(measure(args.counts, args.jobs), args.jobs)
    print(f"{benchlib.load_average()} after. Reproduce: .venv/bin/python benchmarks/scale.py --counts "
          f"{' '.join(map(str, args.counts))} --jobs {args.jobs}")


if __name__ == "__main__":
    main()
