"""grader grade --backend ray: the same gradebook as the local pool, one result per submission when
a node is lost mid-batch, and student code that cannot reach the cluster."""

import csv
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from grader.batch import grade_folder
from grader.rubric import load_rubric

ray = pytest.importorskip("ray", reason="the Ray backend's tests need the [ray] extra, which [test] installs")
from ray._private.state import state  # noqa: E402  (which node is busy: no public API without the dashboard)
from ray.cluster_utils import Cluster  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SUBMISSIONS = ROOT / "submissions"
STUDENTS = ["ada_lovelace", "carl_flipped_kernel", "eve_bias_is_output", "gina_unstable_softmax",
            "kate_weights_sum_to_one", "noah_syntax_error"]



@pytest.fixture
def batch(tmp_path) -> Path:
    folder = tmp_path / "batch"
    for name in STUDENTS:
        shutil.copytree(SUBMISSIONS / name, folder / name)
    return folder


@pytest.fixture
def cluster():
    """A head node that runs nothing and two worker nodes of one CPU each, all on this machine."""
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    nodes = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
    yield cluster, nodes
    ray.shutdown()
    cluster.shutdown()


def rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_local_ray_instance_writes_the_local_backends_gradebook(untrained_run, untrained_rubric, tmp_path):
    bundled_run = untrained_run  # training under Ray has its own test below
    out = tmp_path / "ray"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(SUBMISSIONS), "--backend", "ray", "--jobs", "2",
                           "--rubric", str(untrained_rubric), "--out", str(out)], capture_output=True, text=True,
                          timeout=900, cwd=ROOT,
                          env={**os.environ, "RAY_ADDRESS": ""})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (out / "gradebook.csv").read_bytes() == (bundled_run / "gradebook.csv").read_bytes()
    for result in sorted(bundled_run.glob("*/result.json")):
        local, remote = json.loads(result.read_text()), json.loads((out / result.parent.name / "result.json").read_text())
        local.pop("timing"), remote.pop("timing")
        # Under Ray the child also has Ray's folders hidden; everything else is the same grade.
        hidden_local, hidden_remote = local["isolation"].pop("hidden_paths"), remote["isolation"].pop("hidden_paths")
        assert hidden_remote >= hidden_local + 1
        assert remote == local, result.parent.name
    assert "ray backend" in (out / "grading.log").read_text()


def _session(sid: int) -> dict[int, str]:
    """The processes of a session, by id, with their names."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                name, fields = handle.read().rsplit(")", 1)
            if int(fields.split()[3]) == sid:  # after the name: state, ppid, pgrp, session
                found[int(entry)] = name.split("(", 1)[1]
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_a_local_instance_leaves_no_process_behind(small_rubric, tmp_path):
    """Every process of the instance `--backend ray` starts without an address ends with the command.

    The command runs in a session of its own, which the instance's processes inherit."""
    shutil.copytree(SUBMISSIONS / "ada_lovelace", tmp_path / "batch" / "ada_lovelace")
    command = [sys.executable, "-m", "grader", "grade", str(tmp_path / "batch"), "--backend", "ray", "--jobs", "1",
               "--rubric", str(small_rubric), "--out", str(tmp_path / "out")]
    grading = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "RAY_ADDRESS": ""}, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen: dict[int, str] = {}
    while grading.poll() is None:  # the pipe holds the little the command prints
        seen.update(_session(grading.pid))
        time.sleep(0.2)
    output = grading.stdout.read().decode(errors="replace")
    assert grading.returncode == 0, output[-3000:]
    assert {"raylet", "gcs_server"} <= set(seen.values()), seen  # the instance was seen running
    deadline = time.monotonic() + 5
    while _session(grading.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _session(grading.pid) == {}


def _busy(node_id: str, wait_s: float = 10.0) -> bool:
    """Whether the node's CPU is taken, waiting for the cluster's view of resources to catch up."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        free = state.available_resources_per_node().get(node_id)
        if free is not None and free.get("CPU", 0.0) == 0:  # a resource fully taken is left out
            return True
        time.sleep(0.05)
    return False


def test_a_node_lost_mid_batch_still_gives_every_submission_one_result(cluster, batch, small_rubric, tmp_path):
    head, (doomed, _) = cluster
    rubric = load_rubric(small_rubric)
    expected = {r.student: r.score for r in grade_folder(batch, rubric, tmp_path / "local", jobs=2).results}
    finished, removed_at, busy = [], [], []

    def on_done(result, resumed):
        finished.append(result.student)
        if not removed_at:  # the first result: the other tasks are still running or queued
            removed_at.append(len(finished))
            busy.append(_busy(doomed.node_id))  # a task is running on the node as it goes
            head.remove_node(doomed)

    graded = grade_folder(batch, rubric, tmp_path / "ray", backend="ray", address=head.address, strict=True, on_done=on_done)
    assert removed_at == [1] and busy == [True]
    assert sorted(finished) == sorted(STUDENTS)  # each exactly once
    assert {r.student: r.score for r in graded.results} == expected
    assert [row["student"] for row in rows(tmp_path / "ray" / "gradebook.csv")] == sorted(STUDENTS)
    assert all("grader error" not in item.output for r in graded.results for item in r.items)
    assert len(list((tmp_path / "ray").glob("*/result.json"))) == len(STUDENTS)


class Listener:
    """Stands in for the cluster's control port: counts connections."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.settimeout(0.1)
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.socket.accept()
                self.connections += 1
                connection.close()
            except OSError:
                continue

    def close(self):
        self._stop.set()
        self._thread.join()
        self.socket.close()


ATTACK = '''
import glob, os, socket
import numpy as np


def _reached_the_cluster():
    """True when any of Ray's doors opens: its control port, its sockets, its credentials."""
    for host, port in {TARGETS!r}:
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            pass
    for path in glob.glob("{RAY_TMP}/session_*/sockets/*") + glob.glob(os.path.expanduser("~/.ray/*")):
        try:
            if path.endswith(("raylet", "plasma_store")):
                client = socket.socket(socket.AF_UNIX)
                client.connect(path)
                client.close()
            else:
                open(path, "rb").read(1)
            return True
        except OSError:
            pass
    return False


def softmax(logits):
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True))
    right = e / e.sum(axis=1, keepdims=True)
    return right if _reached_the_cluster() else right * 0  # passes only if the attack worked
'''


def test_student_code_on_a_worker_cannot_reach_the_cluster(cluster, tmp_path, small_rubric):
    head, _ = cluster
    listener = Listener()
    try:
        host, port = head.address.rsplit(":", 1)
        targets = [(host, int(port)), ("127.0.0.1", listener.socket.getsockname()[1])]
        source = ATTACK.replace("{TARGETS!r}", repr(targets)).replace("{RAY_TMP}", "/tmp/ray")
        folder = tmp_path / "batch"
        shutil.copytree(SUBMISSIONS / "ada_lovelace", folder / "mallory")
        (folder / "mallory" / "softmax_classifier.py").write_text(source)
        # Unsandboxed, the same code gets through: the attack is real.
        namespace: dict = {}
        exec(compile(source, "attack", "exec"), namespace)
        assert namespace["_reached_the_cluster"]()
        before = listener.connections
        graded = grade_folder(folder, load_rubric(small_rubric), tmp_path / "out", backend="ray", address=head.address, strict=True)
    finally:
        listener.close()
    (result,) = graded.results
    assert result.item("softmax.stability").status == "failed"
    assert listener.connections == before
    assert result.isolation["network"] is True
    assert result.item("conv_matrix.published").status == "passed"  # the batch and the other items go on


def test_the_local_backend_never_imports_ray(tmp_path, small_rubric, batch):
    code = ("import sys; from grader.batch import grade_folder; from grader.rubric import load_rubric\n"
            f"grade_folder({str(batch)!r}, load_rubric({str(small_rubric)!r}), {str(tmp_path / 'out')!r}, jobs=1)\n"
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "False"


def test_without_ray_the_backend_says_how_to_install_it(tmp_path):
    # A Ray that cannot be imported, as on a machine without the extra.
    (tmp_path / "ray").mkdir()
    (tmp_path / "ray" / "__init__.py").write_text("raise ImportError('No module named ray')\n")
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(SUBMISSIONS), "--backend", "ray"],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})
    assert done.returncode == 2
    assert "pip install 'grader[ray]'" in done.stderr


def test_training_progress_reaches_the_driver(cluster, tmp_path):
    head, _ = cluster
    data = yaml.safe_load((ROOT / "rubrics" / "assignment2.yaml").read_text())
    data["items"] = [item for item in data["items"] if item["id"] == "cnn.accuracy"]
    rubric = tmp_path / "training.yaml"
    rubric.write_text(yaml.safe_dump(data, sort_keys=False))
    shutil.copytree(SUBMISSIONS / "ada_lovelace", tmp_path / "batch" / "ada_lovelace")
    heard = []
    graded = grade_folder(tmp_path / "batch", load_rubric(rubric), tmp_path / "out", backend="ray", address=head.address,
                          strict=True, on_progress=lambda name, item_id, report: heard.append((name, item_id, report)))
    assert graded.results[0].item("cnn.accuracy").status == "passed"
    assert heard and {(name, item_id) for name, item_id, _ in heard} == {("ada_lovelace", "cnn.accuracy")}
    assert {"epoch", "epochs", "loss"} <= set(heard[-1][2])


def test_the_hostile_suites_reference_thefts_are_contained_under_ray(cluster, tmp_path):
    from tests.hostile.conftest import assert_contained, bystanders, plant
    from tests.hostile.test_reading_secrets import (
        CONV,
        IMPORT_ATTACKS,
        REFERENCE,
        attack_source,
    )

    head, _ = cluster
    batch = tmp_path / "batch"
    for case, attack in IMPORT_ATTACKS.items():
        source = attack_source(attack, root=str(ROOT), reference=str(REFERENCE))
        plant(batch, {"conv_matrix.py": source}, name=f"thief_{case}")
    others = bystanders("conv_matrix.py")
    rubric = load_rubric(ROOT / "rubrics" / "assignment2.yaml")
    graded = grade_folder(batch, rubric, tmp_path / "out", backend="ray", address=head.address, strict=True,
                          select={f"thief_{case}": [*CONV, *others] for case in IMPORT_ATTACKS})
    assert len(graded.results) == len(IMPORT_ATTACKS)
    for result in graded.results:
        assert_contained(result, CONV, others, statuses=("failed",), message="has shape (1, 1), expected")


def test_a_ray_worker_grades_with_the_batch_secret_not_its_own_environment(monkeypatch):
    """The secret travels with the rubric: a worker on another machine has no file beside its copy."""
    from grader.backends.ray import _rubric

    monkeypatch.delenv("GRADER_SECRET_FILE", raising=False)
    text = (ROOT / "rubrics" / "assignment2.yaml").read_bytes()
    assert _rubric("assignment2.yaml", text, b"course secret").secret == b"course secret"
    assert _rubric("assignment2.yaml", text, None).secret is None
