"""Each isolation layer proven on its own: every test here fails when its one layer is taken away,
whatever the other layers do. A test runs wherever the machine can have its layer (asked of the
kernel, tests/machine.py) and is skipped only where it cannot.
"""

import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

from grader.api import hidden_paths, own_installation, sandbox_plan
from grader.boundary import Plan, StudentProcess, default_read_only, readable
from grader.boundary.sandbox import UID_BASE
from grader.cache import cache_dir
from grader.rubric import load_rubric
from tests.machine import can_have

ROOT = Path(__file__).resolve().parents[2]

PROBE = '''
import os, socket

def read(path):
    with open(path) as handle:
        return handle.read(100)

def mounts():
    return [line.split()[4] for line in open("/proc/self/mountinfo")]

def namespace(kind):
    return os.readlink(f"/proc/self/ns/{kind}")

def open_socket(family, kind):
    socket.socket(family, kind).close()
    return "opened"

def ids():
    return [os.getuid(), os.geteuid(), os.getpid()]

def ipc():
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    refused = []
    for name, call in (("msgget", lambda: libc.msgget(0x5151, 0o1666)), ("shmget", lambda: libc.shmget(0x5152, 4096, 0o1600)),
                       ("semget", lambda: libc.semget(0x5153, 1, 0o1600))):
        if call() == -1 and ctypes.get_errno() == 1:
            refused.append(name)
    return refused

def seccomp_mode():
    return next(line.split()[1] for line in open("/proc/self/status") if line.startswith("Seccomp:"))
'''


def needs(*layers):
    missing = [layer for layer in layers if not can_have()[layer]]
    return pytest.mark.skipif(bool(missing), reason=f"this machine cannot have {', '.join(missing)}")


@pytest.fixture
def outside():
    """A folder outside the shared temporary folder, which the namespaces cover as a whole:
    what is put here is kept from the child by the layer under test or not at all."""
    folder = Path(tempfile.mkdtemp(prefix="grader-layer-test-", dir="/var/tmp" if os.path.isdir("/var/tmp") else None))
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def child(zygote, outside):
    """Factory: a sandboxed child with the PROBE module, under a plan the test shapes."""
    opened = []

    decoy = outside / "decoy"
    decoy.mkdir()

    def start(hide=(str(decoy),), read_only=None, trusted=()) -> StudentProcess:
        scratch = tempfile.mkdtemp(prefix="grader-layer-")
        Path(scratch, "probe.py").write_text(PROBE)
        wanted = default_read_only() if read_only is None else read_only
        plan = Plan(scratch=scratch, hide=list(hide), read_only=readable(wanted, [*trusted, *hide]))
        process = StudentProcess(zygote, plan, blocked=["reference"])
        opened.append((process, scratch))
        assert process.import_module("probe", 30).ok
        return process

    yield start
    for process, scratch in opened:
        process.close()
        shutil.rmtree(scratch, ignore_errors=True)


def value(process, expr, **inputs):
    outcome = process.call("probe", expr, inputs, 30)
    assert outcome.ok, f"{expr}: {outcome.error_type}: {outcome.message}"
    return outcome.value


def refused(process, expr, **inputs) -> str:
    outcome = process.call("probe", expr, inputs, 30)
    assert outcome.status == "error", f"{expr} was allowed: {outcome.value!r}"
    return outcome.error_type


def test_the_child_gets_every_layer_this_machine_can_have(child):
    report = child().isolation
    missing = [layer for layer, possible in can_have().items() if possible and not report.get(layer)]
    assert not missing, f"the machine can have {missing}, the child did not get them: {report}"


@needs("namespaces")
def test_namespaces_give_the_child_its_own_network_and_mounts(child):
    process = child()
    for kind in ("net", "mnt", "ipc", "uts"):
        assert value(process, "namespace(k)", k=kind) != os.readlink(f"/proc/self/ns/{kind}"), kind


@needs("hidden_paths")
def test_every_trusted_folder_is_covered_by_a_mount_in_the_child(child, tmp_path):
    """Read from the child's own mount table, so Landlock refusing the folder too cannot stand in for it."""
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    submissions = tmp_path / "submissions"
    (submissions / "student").mkdir(parents=True)
    trusted = hidden_paths(rubric, str(submissions / "student"))
    expected = [cache_dir(), ROOT / "rubrics", submissions, Path(own_installation()[0]),
                *(Path(p) for p in __import__("reference").__path__)]
    process = child(hide=trusted)
    mounted = set(value(process, "mounts()"))
    for folder in expected:
        assert str(Path(folder).resolve()) in mounted, f"{folder} is not hidden from the child"


@needs("filesystem")
def test_landlock_refuses_a_world_readable_folder_the_child_was_not_granted(child, outside):
    folder = outside / "open"
    folder.mkdir(mode=0o755)
    (folder / "notes.txt").write_text("anyone may read this")
    os.chmod(folder / "notes.txt", 0o644)
    process = child()
    assert refused(process, "read(p)", p=str(folder / "notes.txt")) == "PermissionError"


@needs("filesystem")
def test_landlock_grants_a_folder_s_other_entries_but_not_the_trusted_one_inside_it(child, outside):
    """As the reference installed in site-packages beside numpy: nothing hides it but the rule set."""
    packages = outside / "site-packages"
    for name in ("numeric", "reference"):
        (packages / name).mkdir(parents=True)
        (packages / name / "__init__.py").write_text(f"# {name}\n")
    for path in (packages, *packages.iterdir(), *packages.glob("*/*")):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    process = child(read_only=[*default_read_only(), str(packages)], trusted=[str(packages / "reference")])
    assert value(process, "read(p)", p=str(packages / "numeric" / "__init__.py")) == "# numeric\n"
    assert refused(process, "read(p)", p=str(packages / "reference" / "__init__.py")) == "PermissionError"


@needs("seccomp")
def test_the_system_call_filter_refuses_every_new_socket_and_shared_ipc(child):
    """A network namespace alone lets a socket be made; only the filter refuses it, UDP and Unix alike."""
    process = child()
    assert value(process, "seccomp_mode()") == "2"
    for family, kind in ((socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET, socket.SOCK_STREAM),
                         (socket.AF_UNIX, socket.SOCK_STREAM), (socket.AF_INET6, socket.SOCK_DGRAM)):
        assert refused(process, "open_socket(f, k)", f=int(family), k=int(kind)) == "PermissionError", (family, kind)
    # System V IPC outlives the child and, without an IPC namespace, is shared with every other child.
    assert value(process, "ipc()") == ["msgget", "shmget", "semget"]


@needs("unprivileged_uid")
def test_the_private_uid_cannot_read_a_root_only_file_the_rules_grant(child, outside):
    """Landlock grants the folder and nothing hides it: only the uid keeps the child out."""
    folder = outside / "granted"
    folder.mkdir()
    (folder / "root_only.txt").write_text("root's eyes only")
    os.chmod(folder / "root_only.txt", 0o600)
    os.chmod(folder, 0o755)
    process = child(read_only=[*default_read_only(), str(folder)])
    uid, euid, pid = value(process, "ids()")
    assert uid == euid == UID_BASE + pid
    assert refused(process, "read(p)", p=str(folder / "root_only.txt")) == "PermissionError"


def test_the_allow_list_never_includes_a_trusted_folder(tmp_path):
    """Whatever a folder the child reads holds, it holds no reference, rubric, cache, grader or other submission."""
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    submissions = tmp_path / "submissions"
    (submissions / "student").mkdir(parents=True)
    plan = sandbox_plan(rubric, str(tmp_path / "scratch"), str(submissions / "student"))
    import grader
    import reference

    trusted = [cache_dir(), ROOT / "rubrics", submissions, *map(Path, reference.__path__), *map(Path, grader.__path__)]
    for folder in map(lambda p: os.path.realpath(p), trusted):
        for granted in plan.read_only:
            assert os.path.commonpath([folder, granted]) != granted, f"{granted} is readable and holds {folder}"
    # What student code needs is still there.
    import numpy
    import torch

    for module in (numpy, torch, os):
        path = os.path.realpath(module.__file__)
        assert any(os.path.commonpath([path, g]) == g for g in plan.read_only), f"{path} is not readable"
