"""Code that never ends, forks, eats memory, floods its output or fills the disk is stopped in
bounded time, costs only its own items, and leaves no process or file behind."""

import dataclasses
import os
import time

import pytest

from grader.boundary import cgroup
from grader.boundary.sandbox import UID_BASE
from grader.boundary.session import OUTPUT_LIMIT
from tests.hostile.conftest import assert_contained, bystanders, grade, plant

pytestmark = pytest.mark.layers("rlimits", "unprivileged_uid")

SOFTMAX = "softmax_classifier.py"
ATTACKED = "softmax.stability"
ITEM_TIMEOUT_S = 2.0


def in_call(body: str) -> str:
    """softmax_classifier.py whose softmax runs `body` (indented by four spaces) and then answers right."""
    lines = "".join(f"    {line}\n" for line in body.strip("\n").splitlines())
    return ("import os, sys, time\nimport numpy as np\n"
            f"def softmax(logits):\n{lines}"
            "    z = np.asarray(logits, dtype=np.float64)\n"
            "    e = np.exp(z - z.max(axis=1, keepdims=True))\n"
            "    return e / e.sum(axis=1, keepdims=True)\n")


@pytest.fixture(scope="module")
def quick(bundled):
    """The bundled rubric with a 2 s limit per call, so that a timeout costs 2 s."""
    return dataclasses.replace(bundled, items=tuple(dataclasses.replace(item, timeout_s=ITEM_TIMEOUT_S)
                                                    for item in bundled.items))


class Spawned:
    """What a zygote started while a test watched: the children's uids and scratch folders.

    Other grading runs may share this machine, so only the uids of our own children count.
    """

    def __init__(self):
        self.uids: set[int] = set()
        self.scratches: set[str] = set()
        self.groups: list[cgroup.Group] = []  # where the machine gives each child a cgroup

    def group_folders_left(self) -> list[str]:
        return [folder for group in self.groups for folder in group.folders.values() if os.path.exists(folder)]

    def processes(self) -> set[tuple[int, int]]:
        """(pid, uid) of every live process under one of our children's private uids."""
        found = set()
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as handle:
                    fields = dict(line.split(":", 1) for line in handle if ":" in line)
            except OSError:
                continue
            uid = int(fields["Uid"].split()[1])
            # A zombie leader whose other threads run on is alive.
            dead = fields["State"].strip().startswith(("Z", "X")) and int(fields["Threads"]) <= 1
            if uid in self.uids and not dead:
                found.add((int(entry), uid))
        return found

    def survivors(self, wait_s: float = 3.0) -> set:
        """Our children's processes still alive after giving SIGKILLs a moment to land."""
        deadline = time.monotonic() + wait_s
        while True:
            left = self.processes()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.05)


@pytest.fixture
def spawned(zygote, monkeypatch):
    record = Spawned()
    spawn = zygote.spawn

    def recording(plan, *args, **kwargs):
        pid, preloaded = spawn(plan, *args, **kwargs)
        record.uids.add(UID_BASE + pid)
        record.scratches.add(plan.scratch)
        return pid, preloaded

    def recording_group(*args, **kwargs):
        group = create_group(*args, **kwargs)
        if group is not None:
            record.groups.append(group)
        return group

    create_group = cgroup.create
    monkeypatch.setattr(zygote, "spawn", recording)
    monkeypatch.setattr(cgroup, "create", recording_group)
    return record


def describe(processes: set) -> str:
    lines = []
    for pid, uid in sorted(processes):
        try:
            with open(f"/proc/{pid}/status") as handle:
                status = {k: v.strip() for k, v in (line.split(":", 1) for line in handle if ":" in line)}
        except OSError:
            continue
        lines.append(f"pid {pid} uid {uid} state {status['State']} ppid {status['PPid']}")
    return "\n".join(lines)


INFINITE_LOOP = "while True:\n    pass"
SLEEP = "time.sleep(10**6)"
# The children sleep; the loop stops at the process limit (BlockingIOError) or runs out of time.
FORK_500 = ("for _ in range(500):\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(10**6)\n"
            "        os._exit(0)")
# Every process forks again in a new session, forever, ignoring failures: no process group holds them.
FORK_FOREVER = ("import itertools\n"
                "for _ in itertools.count():\n"
                "    try:\n"
                "        if os.fork() == 0:\n"
                "            os.setsid()\n"
                "    except OSError:\n"
                "        time.sleep(0.01)")
MEMORY_30GB = "hoard = bytearray(30 * 2**30)"
MEMORY_CREEP = "hoard = []\nwhile True:\n    hoard.append(bytes(256 * 2**20))"
STDOUT_1GB = ("line = 'All work and no play makes Jack a dull boy. ' * 20000 + '\\n'\n"
              "for _ in range(1200):\n"
              "    sys.stdout.write(line)")
STDERR_RAW_1GB = "chunk = b'x' * 2**20\nfor _ in range(1024):\n    os.write(2, chunk)"
FILE_5GB = ("chunk = b'\\0' * 2**20\n"
            "with open('filler.bin', 'wb') as handle:\n"
            "    for _ in range(5 * 1024):\n"
            "        handle.write(chunk)")
FILES_5GB = ("chunk = b'\\0' * 2**20\n"
             "for number in range(100):\n"
             "    with open(f'filler{number}.bin', 'wb') as handle:\n"
             "        for _ in range(50):\n"
             "            handle.write(chunk)")

# name: (body of softmax, statuses allowed, text the item's output must hold)
CASES = {
    "infinite loop": (INFINITE_LOOP, ("timeout",), f"did not finish within {ITEM_TIMEOUT_S:g} s"),
    "sleeps for 11 days": (SLEEP, ("timeout",), f"did not finish within {ITEM_TIMEOUT_S:g} s"),
    # On a loaded machine the 64 forks before the process limit may take longer than the 2 s limit.
    "forks 500 sleeping children": (FORK_500, ("error", "timeout"), ("BlockingIOError", "did not finish within")),
    "forks forever in new sessions": (FORK_FOREVER, ("timeout",), f"did not finish within {ITEM_TIMEOUT_S:g} s"),
    "allocates 30 GB at once": (MEMORY_30GB, ("error",), "MemoryError"),
    "allocates until it cannot": (MEMORY_CREEP, ("error",), "MemoryError"),
    "prints 1 GB": (STDOUT_1GB, ("error",), "File too large"),
    "writes 1 GB to stderr": (STDERR_RAW_1GB, ("error",), "File too large"),
    "writes a 5 GB file to its scratch folder": (FILE_5GB, ("error",), "File too large"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_runaway_is_stopped_and_cleaned_up(tmp_path, quick, zygote, spawned, case):
    body, statuses, message = CASES[case]
    folder = plant(tmp_path, {SOFTMAX: in_call(body)})
    started = time.monotonic()
    result = grade(folder, quick, zygote, [ATTACKED], bystanders(SOFTMAX))
    seconds = time.monotonic() - started
    messages = (message,) if isinstance(message, str) else message
    assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=statuses)
    output = result.item(ATTACKED).output
    assert any(text in output for text in messages), f"none of {messages} in:\n{output}"
    assert seconds < 20, f"grading took {seconds:.1f} s"
    assert spawned.uids, "no child was started"
    left = spawned.survivors()
    assert not left, f"processes of the sandboxed uid outlived the grading:\n{describe(left)}"
    assert not any(os.path.exists(folder) for folder in spawned.scratches), "the scratch folder was left behind"
    assert not spawned.group_folders_left(), f"cgroups left behind: {spawned.group_folders_left()}"
    assert len(output) < OUTPUT_LIMIT + 1000, f"{len(output)} characters of output kept"


# A grandchild leaves the process group (setsid), starts a thread and ends only its main thread: it shows
# as a zombie while the thread runs on, holding memory and CPU, for as long as nobody kills it.
LINGER = ("import ctypes, threading\n"
          "if os.fork() == 0:\n"
          "    os.setsid()\n"
          "    threading.Thread(target=lambda: [time.sleep(1) for _ in range(600)]).start()\n"
          "    ctypes.CDLL(None).syscall(60, 0)\n"
          "time.sleep(0.5)")


def test_a_process_that_hides_as_a_zombie_is_killed_with_the_child(tmp_path, quick, zygote, spawned):
    result = grade(plant(tmp_path, {SOFTMAX: in_call(LINGER)}), quick, zygote, [ATTACKED], bystanders(SOFTMAX))
    assert_contained(result, [], [ATTACKED, *bystanders(SOFTMAX)])  # it answers right: it is the leftover that matters
    left = spawned.survivors()
    assert not left, f"processes of the sandboxed uid outlived the grading:\n{describe(left)}"
    assert not spawned.group_folders_left(), f"cgroups left behind: {spawned.group_folders_left()}"


def test_a_flood_of_output_is_cut_to_a_readable_size(tmp_path, quick, zygote):
    """1 GB printed: the item's output keeps the start, and says that it was cut."""
    result = grade(plant(tmp_path, {SOFTMAX: in_call(STDOUT_1GB)}), quick, zygote, [ATTACKED], [])
    output = result.item(ATTACKED).output
    assert "Your code printed:\nAll work and no play makes Jack a dull boy." in output
    assert "[output truncated]" in output
    assert output.count("Jack") < OUTPUT_LIMIT // 40


def test_a_flood_that_ends_in_a_right_answer_still_passes_with_its_output_cut(tmp_path, quick, zygote):
    """60 MB printed, under the file-size limit, then the right answer: the point is earned, nothing breaks."""
    body = "line = 'x' * 999 + '\\n'\nfor _ in range(60 * 1024):\n    sys.stdout.write(line)"
    started = time.monotonic()
    result = grade(plant(tmp_path, {SOFTMAX: in_call(body)}), quick, zygote, [ATTACKED], bystanders(SOFTMAX))
    assert time.monotonic() - started < 20
    assert_contained(result, [], [ATTACKED, *bystanders(SOFTMAX)])


@pytest.mark.layers("rlimits", "unprivileged_uid", "disk")
def test_many_files_in_the_scratch_folder_fill_only_its_quota(tmp_path, quick, zygote, spawned):
    """5 GB in files of 50 MB each, every one under the file-size limit: the scratch folder's quota stops it."""
    started = time.monotonic()
    result = grade(plant(tmp_path, {SOFTMAX: in_call(FILES_5GB)}), quick, zygote, [ATTACKED], bystanders(SOFTMAX))
    assert time.monotonic() - started < 20
    assert_contained(result, [ATTACKED], bystanders(SOFTMAX), statuses=("error",), message="No space left on device")
    assert result.isolation["disk"] is True
    assert spawned.scratches and not any(os.path.exists(folder) for folder in spawned.scratches)
