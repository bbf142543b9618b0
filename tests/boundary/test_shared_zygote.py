"""A batch's workers share one zygote: requests from several clients, and a fallback when it dies."""

import multiprocessing
import threading
import shutil
import tempfile
from pathlib import Path

from grader.boundary import Plan, StudentProcess, Zygote, default_read_only

MODULE = "def twice(x):\n    return x * 2\n"


def call_twice(zygote: Zygote, value: int):
    scratch = tempfile.mkdtemp(prefix="grader-test-")
    Path(scratch, "student.py").write_text(MODULE)
    process = StudentProcess(zygote, Plan(scratch=scratch, read_only=default_read_only()), blocked=[])
    try:
        assert process.import_module("student", 30).ok
        return process.call("student", "twice(x)", {"x": value}, 30).value, process.isolation
    finally:
        process.close()
        shutil.rmtree(scratch, ignore_errors=True)


def test_clients_share_one_zygote_and_fall_back_to_their_own_when_it_dies():
    owner = Zygote()
    try:
        control, lock, preload = owner.share(multiprocessing.get_context("spawn"))
        first = Zygote.attach(control.dup(), lock, preload)
        second = Zygote.attach(control.dup(), lock, preload)
        assert call_twice(first, 2)[0] == 4 and call_twice(second, 5)[0] == 10
        assert first._process is None and second._process is None, "no client started a zygote of its own"
        owner.close()  # the shared zygote is gone
        value, isolation = call_twice(first, 21)
        assert value == 42 and isolation["process"]
        assert first._process is not None, "the client carried on with a zygote of its own"
        first.close()
    finally:
        owner.close()


def test_the_owner_still_gets_children_after_a_client_read_the_ready_line():
    """The zygote says "ready" once; a client that reads it first must not leave the owner waiting for it."""
    owner = Zygote()
    try:
        control, lock, preload = owner.share(multiprocessing.get_context("spawn"))
        client = Zygote.attach(control.dup(), lock, preload)
        assert call_twice(client, 1)[0] == 2  # the client reads "ready", then its reply
        answer = []
        worker = threading.Thread(target=lambda: answer.append(call_twice(owner, 4)[0]), daemon=True)
        worker.start()
        worker.join(60)
        assert answer == [8], "the owner waited for a ready line its client had already read"
    finally:
        owner.close()
