"""Where a batch's worker processes come from. Light to import, so the CLI can start it first.

Workers fork from multiprocessing's fork server, which imports the grader (and torch) once
and never runs torch itself: forking the batch's own process instead would copy torch's
thread pools, and spawning each worker would pay the imports once per worker.
"""

from __future__ import annotations

import multiprocessing
import shutil

_PRELOAD = ["grader.batch"]


def pool_context():
    try:
        context = multiprocessing.get_context("forkserver")
    except ValueError:  # no fork server on this platform
        return multiprocessing.get_context("spawn")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_early() -> None:
    """Start the fork server now, so that its imports overlap with this process's own."""
    context = pool_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def remove_leftovers() -> None:
    """Remove multiprocessing's temporary folder (the fork server's socket), as its exit handler
    would: the command line ends with os._exit, which skips that handler."""
    folder = multiprocessing.current_process()._config.get("tempdir")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
