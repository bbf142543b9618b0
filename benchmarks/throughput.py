"""Throughput: the grader against one fresh process per submission, on the same batch and cores.

Run from the repository root:

    .venv/bin/python benchmarks/throughput.py [--count 40] [--jobs 2]

The batch is --count copies of the bundled submissions (cycling through all of them, the
broken ones included), graded with the bundled rubric less its training items.

- Grader: `grader grade --jobs J` in a fresh process, as an instructor runs it (reports
  included), first with an empty cache of generated inputs (a first batch) and then with
  the cache it left (every later batch, and every later run of the same rubric).
- Per-process baseline: benchmarks/per_process.py, a fresh interpreter per submission that
  imports numpy, torch and the student's modules and runs the same checks under the same
  resource limits, --jobs at a time; as per-process graders do, each process draws its own
  generated inputs. It is also run with the grader's warm cache, to separate what the
  process model costs from what drawing inputs costs.

Both sides must give every submission the same score; the benchmark says so, or stops.

Overhead per submission = worker-seconds per submission (wall x jobs / count) minus the
compute time of its checks (the sum of its items' seconds, measured by whoever ran them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchlib  # noqa: E402

TARGET_RATIO = 5.0
TARGET_OVERHEAD_S = 0.100


def grade_per_process(folder: Path, rubric_path: Path, jobs: int, cache: str) -> dict:
    """Every submission in a fresh `python benchmarks/per_process.py`, `jobs` at a time."""
    from grader.api import find_submissions

    script = Path(__file__).resolve().parent / "per_process.py"
    environment = {**os.environ, "GRADER_CACHE_DIR": cache, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def one(path: Path) -> dict:
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(script), str(path), str(rubric_path)], capture_output=True,
                              text=True, env=environment, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"the per-process baseline failed on {path.name}:\n{done.stderr[-3000:]}")
        report = json.loads(done.stdout.strip().splitlines()[-1])
        report["wall_s"] = time.perf_counter() - started
        return report

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        reports = list(pool.map(one, find_submissions(folder)))
    return {
        "wall_s": time.perf_counter() - started,
        "scores": {r["student"]: r["score"] for r in reports},
        "items_s": [sum(r["items_s"].values()) for r in reports],
        "process_s": [r["wall_s"] for r in reports],
        "imported_s": [r["imported_s"] for r in reports],
    }


def summarise(run: dict, count: int, jobs: int) -> dict:
    per_submission = run["wall_s"] * jobs / count
    checks = sum(run["items_s"]) / count
    return {"per_minute": 60 * count / run["wall_s"], "worker_s": per_submission, "checks_s": checks,
            "overhead_s": per_submission - checks}


def measure(count: int, jobs: int, baseline: bool = True) -> dict:
    """Grade the batch every way; returns the runs and their summaries."""
    with tempfile.TemporaryDirectory(prefix="grader-throughput-") as temp:
        temp = Path(temp)
        rubric_path = benchlib.numeric_rubric(temp / "rubric")
        folder = benchlib.copies(temp / "batch", count)
        cache = str(temp / "cache")
        runs = {"grader, first batch (empty cache)": benchlib.grade_with_cli(folder, rubric_path, temp / "out1", jobs, cache),
                "grader, later batches (cache kept)": benchlib.grade_with_cli(folder, rubric_path, temp / "out2", jobs, cache)}
        if baseline:
            runs["per-process baseline"] = grade_per_process(folder, rubric_path, jobs, "off")
            runs["per-process baseline, given the grader's cache"] = grade_per_process(folder, rubric_path, jobs, cache)
    scores = {name: run["scores"] for name, run in runs.items()}
    reference = next(iter(scores.values()))
    for name, seen in scores.items():
        if seen != reference:
            differ = sorted(s for s in reference if reference[s] != seen.get(s))
            raise SystemExit(f"'{name}' scored differently from the grader on {', '.join(differ)}: not the same checks")
    return {"runs": runs, "summaries": {name: summarise(run, count, jobs) for name, run in runs.items()}}


def report(result: dict, count: int, jobs: int) -> None:
    runs, summaries = result["runs"], result["summaries"]
    print(f"{'':<48} {'wall':>8} {'per min':>8} {'worker-s/sub':>12} {'checks/sub':>10} {'overhead/sub':>12}")
    for name, s in summaries.items():
        print(f"{name:<48} {runs[name]['wall_s']:>6.1f} s {s['per_minute']:>8.1f} {s['worker_s']:>10.3f} s "
              f"{s['checks_s']:>8.3f} s {s['overhead_s']:>10.3f} s")
    print("Every run gave every submission the same score.")
    cold, warm = summaries["grader, first batch (empty cache)"], summaries["grader, later batches (cache kept)"]
    inside = runs["grader, later batches (cache kept)"]
    steady = benchlib.median(t - i for t, i in zip(inside["inside_s"], inside["items_s"]))
    print(f"Grader overhead per submission, later batches: {1000 * warm['overhead_s']:.0f} ms. Of it, "
          f"{1000 * steady:.0f} ms (median) is each grading's own: opening and copying the submission, starting and "
          f"killing its sandboxed child. The rest is the batch's start (the process's imports, the fork server and the "
          f"shared zygote each importing torch once), waiting for the slowest submission at the end, and the reports, "
          f"spread over {count} submissions; benchmarks/scale.py shows it staying fixed as batches grow.")
    if "per-process baseline" in summaries:
        base, base_warm = summaries["per-process baseline"], summaries["per-process baseline, given the grader's cache"]
        imported = benchlib.median(runs["per-process baseline"]["imported_s"])
        print(f"Per-process baseline: {base['worker_s']:.2f} s per submission, of which imports {imported:.2f} s "
              f"(median) before any check")
        print()
        ratio_cold, ratio_warm = cold["per_minute"] / base["per_minute"], warm["per_minute"] / base["per_minute"]
        print(f"Ratio, submissions per minute, grader / per-process baseline: {ratio_cold:.1f} for a first batch, "
              f"{ratio_warm:.1f} for later ones (target at least {TARGET_RATIO:g}: "
              f"{'met' if min(ratio_cold, ratio_warm) >= TARGET_RATIO else 'NOT met'})")
        print(f"Ratio with the cache of generated inputs given to both: "
              f"{warm['per_minute'] / base_warm['per_minute']:.1f} (what the process model alone is worth)")
    print(f"Overhead per submission, later batches: {1000 * warm['overhead_s']:.0f} ms (target under "
          f"{1000 * TARGET_OVERHEAD_S:.0f} ms on 2 cores: {'met' if warm['overhead_s'] < TARGET_OVERHEAD_S else 'NOT met'}); "
          f"first batch {1000 * cold['overhead_s']:.0f} ms")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40, help="submissions in the batch (default 40)")
    parser.add_argument("--jobs", type=int, default=2, help="submissions graded at once, both sides (default 2)")
    parser.add_argument("--no-baseline", action="store_true", help="grade with the grader only")
    args = parser.parse_args(argv)
    print(f"Throughput: {args.count} copies of the bundled submissions, bundled rubric without training items, "
          f"{args.jobs} at a time")
    print(f"Machine: {benchlib.machine()}; {benchlib.load_average()} before")
    result = measure(args.count, args.jobs, baseline=not args.no_baseline)
    report(result, args.count, args.jobs)
    print(f"{benchlib.load_average()} after. Reproduce: .venv/bin/python benchmarks/throughput.py --count {args.count} "
          f"--jobs {args.jobs}")


if __name__ == "__main__":
    main()
