"""What the performance benchmarks share: the machine, the batches they grade, peak memory.

Nothing here times anything by itself; each benchmark prints its own figures and ratios.
"""

from __future__ import annotations

import os
import platform
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run as a script: `grader` and `reference` importable from a checkout

BUNDLED_RUBRIC = ROOT / "rubrics" / "assignment2.yaml"
SUBMISSIONS = ROOT / "submissions"


def machine() -> str:
    """One line: cores, CPU model, memory, Python and torch versions."""
    import torch

    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")).split()[1])
        memory = f", {kib / 2**20:.0f} GiB memory"
    except (OSError, StopIteration, ValueError):
        pass
    return (f"{os.cpu_count()} cores ({model}){memory}; Python {platform.python_version()}, "
            f"torch {torch.__version__}, {platform.system()} {platform.release()}")


def load_average() -> str:
    return f"load average (1 min) {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def median(values) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def numeric_rubric(folder: Path) -> Path:
    """The bundled rubric without its training items: what the throughput figures grade."""
    data = yaml.safe_load(BUNDLED_RUBRIC.read_text())
    data["items"] = [item for item in data["items"] if item["kind"] != "training"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "assignment2-numeric.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def bundled_submissions() -> list[Path]:
    from grader.api import find_submissions

    return find_submissions(SUBMISSIONS)


def copies(folder: Path, count: int) -> Path:
    """`count` submissions, cycling through the bundled ones: 000_ada_lovelace, 001_ben_okafor, ..."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = bundled_submissions()
    for index in range(count):
        source = sources[index % len(sources)]
        shutil.copytree(source, folder / f"{index:03d}_{source.name}",
                        ignore=shutil.ignore_patterns("__pycache__"))
    return folder


class PeakMemory:
    """Samples the resident-set peak (VmHWM) of a process and everything under it, by role.

    A background thread reads /proc every `interval` seconds; a process that lives shorter
    than that may be missed, and a peak is the highest value seen, not the exact one.
    """

    ROLES = ("grader (batch process)", "fork server", "worker", "zygote", "sandboxed child", "other")

    def __init__(self, root: int, interval: float = 0.1):
        self.root = root
        self.interval = interval
        self.peaks_kib: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        parents, peaks, commands = {}, {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                status = Path(f"/proc/{entry}/status").read_text()
                commands[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            parents[int(entry)] = int(fields.get("PPid", "0"))
            if "VmHWM" in fields:
                peaks[int(entry)] = int(fields["VmHWM"].split()[0])
        for pid, peak in peaks.items():
            role = self._role(pid, parents, commands)
            if role:
                self.peaks_kib[role] = max(self.peaks_kib.get(role, 0), peak)

    def _role(self, pid: int, parents: dict, commands: dict) -> str | None:
        current = pid
        while current != self.root and current in parents and current > 1:
            current = parents[current]
        if current != self.root:
            return None
        if pid == self.root:
            return "grader (batch process)"
        # A forked process keeps its parent's command line: look at the parent's first.
        command, parent = commands.get(pid, b""), commands.get(parents.get(pid), b"")
        if b"grader.boundary.zygote" in parent:
            return "sandboxed child"
        if b"grader.boundary.zygote" in command:
            return "zygote"
        if b"forkserver" in parent:
            return "worker"
        if b"forkserver" in command:
            return "fork server"
        return "other"

    def describe(self) -> str:
        return ", ".join(f"{role} {self.peaks_kib[role] / 1024:.0f} MiB" for role in self.ROLES if role in self.peaks_kib)


def grade_with_cli(folder: Path, rubric_path: Path, out: Path, jobs: int, cache: str, memory: bool = False,
                   extra=()) -> dict:
    """`grader grade` as an instructor runs it, in a fresh process: wall time, scores, per-submission timings."""
    import json
    import subprocess

    command = [sys.executable, "-m", "grader", "grade", str(folder), "--rubric", str(rubric_path), "--out", str(out),
               "--jobs", str(jobs), *extra]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT,
                               env={**os.environ, "GRADER_CACHE_DIR": cache})
    if memory:
        with PeakMemory(process.pid) as peaks:
            _, errors = process.communicate(timeout=3600)
    else:
        peaks, (_, errors) = None, process.communicate(timeout=3600)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"grader grade failed ({process.returncode}):\n{errors.decode()[-3000:]}")
    results = [json.loads(path.read_text()) for path in sorted(out.glob("*/result.json"))]
    return {
        "wall_s": wall,
        "scores": {r["student"]: r["score"] for r in results},
        "items_s": [sum(r["timing"].get("items_s", {}).values()) for r in results],
        "inside_s": [r["timing"].get("total_s", 0.0) for r in results],
        "memory": peaks.describe() if peaks else "",
    }


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started
