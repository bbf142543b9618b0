"""The Ray backend against the local pool, on one machine and the same batch, and what a course costs.

Run from the repository root (needs the [ray] extra):

    .venv/bin/python benchmarks/ray_backend.py [--count 40] [--jobs 2]

- The batch is --count copies of the bundled submissions, graded with the bundled rubric less its
  training items, by `grader grade --jobs J` and by `grader grade --backend ray --jobs J` (a local
  Ray instance of J CPUs, started by the command). Both run with the cache of generated inputs
  warm, and both must give every submission the same score.
- Then the bundled submissions with the whole rubric, training included, under Ray: the cost of
  one submission of a course that trains a CNN, per CPU.

Ratio = the Ray run's wall time over the local pool's. Overhead per submission = the difference,
in worker-seconds, spread over the batch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

COURSE = 10_000


def measure(count: int, jobs: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="grader-ray-bench-") as temp:
        temp = Path(temp)
        rubric_path = benchlib.numeric_rubric(temp / "rubric")
        folder = benchlib.copies(temp / "batch", count)
        cache = str(temp / "cache")
        benchlib.grade_with_cli(folder, rubric_path, temp / "warm", jobs, cache)  # fills the cache
        local = benchlib.grade_with_cli(folder, rubric_path, temp / "local", jobs, cache)
        ray = benchlib.grade_with_cli(folder, rubric_path, temp / "ray", jobs, cache, extra=("--backend", "ray"))
        if ray["scores"] != local["scores"]:
            raise SystemExit("the Ray backend scored differently from the local pool: not the same grading")
        training = benchlib.grade_with_cli(benchlib.SUBMISSIONS, benchlib.BUNDLED_RUBRIC, temp / "training", jobs, cache,
                                           extra=("--backend", "ray"))
    return {"local": local, "ray": ray, "training": training}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="submissions in the batch (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="CPUs for either backend (default 2)")
    args = parser.parse_args(argv)
    print(f"Ray backend: {args.count} copies of the bundled submissions, bundled rubric without training items, "
          f"{args.jobs} CPUs each way")
    print(f"Machine: {benchlib.machine()}; {benchlib.load_average()} before")
    runs = measure(args.count, args.jobs)
    local, ray, training = runs["local"], runs["ray"], runs["training"]
    extra = (ray["wall_s"] - local["wall_s"]) * args.jobs / args.count
    print(f"local pool: {local['wall_s']:.1f} s; Ray: {ray['wall_s']:.1f} s; same scores")
    print(f"Ratio, wall time Ray / local pool: {ray['wall_s'] / local['wall_s']:.2f}; "
          f"Ray's overhead {1000 * extra:.0f} ms per submission (worker-seconds), fixed start included")
    per_submission = benchlib.median(training["inside_s"])
    mean = sum(training["inside_s"]) / len(training["inside_s"])
    print(f"With training (bundled submissions, whole rubric, under Ray): {per_submission:.1f} s median, "
          f"{mean:.1f} s mean per submission on one CPU")
    for nodes, cpus in ((1, 16), (10, 16), (50, 16)):
        minutes = COURSE * mean / (nodes * cpus) / 60
        print(f"  {COURSE} such submissions on {nodes} node{'s' if nodes > 1 else ''} x {cpus} CPUs (assumed): "
              f"about {minutes:.0f} min of wall time, plus the cluster's start")
    print(f"{benchlib.load_average()} after. Reproduce: .venv/bin/python benchmarks/ray_backend.py --count {args.count} "
          f"--jobs {args.jobs}")


if __name__ == "__main__":
    main()
