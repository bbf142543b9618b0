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
    """Samples the resident-set peak (VmHWM) of this process and everything under it, by role.

    A background thread reads /proc every `interval` seconds; a process that lives shorter
    than that may be missed, and a peak is the highest value seen, not the exact one.
    Roles: this process ("grader"), processes running grader code under it ("workers and
    zygotes"), and sandboxed children (those whose parent is a zygote).
    """

    def __init__(self, interval: float = 0.2):
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
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

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
        me = os.getpid()
        for pid, peak in peaks.items():
            role = self._role(pid, me, parents, commands)
            if role:
                self.peaks_kib[role] = max(self.peaks_kib.get(role, 0), peak)

    @staticmethod
    def _role(pid: int, me: int, parents: dict, commands: dict) -> str | None:
        if pid == me:
            return "grader"
        chain, current = [], pid
        while current in parents and current not in (0, 1, me):
            chain.append(current)
            current = parents[current]
        if current != me:
            return None
        parent = parents.get(pid)
        if parent in commands and b"grader.boundary.zygote" in commands[parent]:
            return "sandboxed child"
        if b"grader.boundary.zygote" in commands.get(pid, b""):
            return "zygote"
        return "worker or per-process grader"

    def describe(self) -> str:
        order = ("grader", "worker or per-process grader", "zygote", "sandboxed child")
        return ", ".join(f"{role} {self.peaks_kib[role] / 1024:.0f} MiB" for role in order if role in self.peaks_kib)


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started
