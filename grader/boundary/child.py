"""The child: sandbox itself, then import and call student code on request.

Everything here runs in the student's process, so nothing it sends back is
trusted: the trusted side re-checks every value it receives.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import random
import socket
import sys
import traceback

import numpy as np
import torch
import yaml

from grader.boundary import sandbox, trainer
from grader.boundary.codec import CodecError, Decoder, encode_value, recv_message, send_message

MAX_YAML_BYTES = 256 * 1024


class _Blocker(importlib.abc.MetaPathFinder):
    """Makes the named packages unimportable, whatever is on disk."""

    def __init__(self, packages):
        self.packages = set(packages)

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.packages:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


def _block_imports(packages) -> None:
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            del sys.modules[name]
    sys.meta_path.insert(0, _Blocker(packages))


def _error(scratch: str, error: BaseException) -> dict:
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    # Drop the frames of this file and make paths relative, so messages repeat exactly.
    text = "".join(line for line in lines if __file__ not in line).replace(scratch + os.sep, "")
    reply = {"type": type(error).__name__, "message": str(error)[:2000], "traceback": text[-4000:]}
    if isinstance(error, SyntaxError):  # where, as data: a report need not read it back out of the message
        reply["syntax_at"] = [str(error.filename or "").replace(scratch + os.sep, "")[:300], error.lineno or 0,
                              str(error.msg or "")[:300]]
    return {"ok": False, "error": reply}


class Server:
    def __init__(self, channel: socket.socket, scratch: str):
        self.channel = channel
        self.scratch = scratch
        self.modules: dict[str, object] = {}

    def reply(self, header: dict, blobs=()) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        send_message(self.channel, header, list(blobs))

    def do_import(self, request: dict) -> dict:
        name = request["module"]
        path = os.path.join(self.scratch, f"{name}.py")
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            sys.modules.pop(name, None)
            raise
        self.modules[name] = module
        return {"ok": True}

    def do_call(self, request: dict, blobs) -> tuple[dict, list[bytes]]:
        namespace = dict(vars(self.modules[request["module"]]))
        namespace.update(Decoder(blobs, torch).decode(request["inputs"]))
        random.seed(0)
        np.random.seed(0)
        # torch.manual_seed also queues a seed for every accelerator, recording a stack trace
        # each time (~1 ms); the CPU generator is what a call uses unless it started CUDA.
        torch.default_generator.manual_seed(0)
        if torch.cuda.is_initialized():
            torch.cuda.manual_seed_all(0)
        result = eval(request["expr"], namespace)  # the expression comes from the rubric
        value, out_blobs = encode_value(result, torch)
        return {"ok": True, "value": value}, out_blobs

    def do_train(self, request: dict, blobs) -> tuple[dict, list[bytes]]:
        inputs = Decoder(blobs).decode(request["inputs"])
        result = trainer.train_and_predict(
            request, inputs,
            namespace=lambda module: dict(vars(self.modules[module])),
            progress=lambda report: send_message(self.channel, {"progress": report}),
        )
        value, out_blobs = encode_value(result, torch)
        return {"ok": True, "value": value}, out_blobs

    def do_read_yaml(self, request: dict) -> tuple[dict, list[bytes]]:
        with open(os.path.join(self.scratch, request["file"]), "rb") as handle:
            text = handle.read(MAX_YAML_BYTES + 1)
        if len(text) > MAX_YAML_BYTES:
            raise ValueError(f"{request['file']} is larger than {MAX_YAML_BYTES // 1024} KiB")
        value, blobs = encode_value(yaml.safe_load(text))
        return {"ok": True, "value": value}, blobs

    def serve(self) -> None:
        while True:
            try:
                request, blobs = recv_message(self.channel)
            except (EOFError, OSError, CodecError):
                return
            op = request.get("op")
            try:
                if op == "import":
                    header, out = self.do_import(request), []
                elif op == "call":
                    header, out = self.do_call(request, blobs)
                elif op == "train":
                    header, out = self.do_train(request, blobs)
                elif op == "read_yaml":
                    header, out = self.do_read_yaml(request)
                else:
                    header, out = {"ok": False, "error": {"type": "Protocol", "message": f"unknown op {op!r}", "traceback": ""}}, []
            except BaseException as error:  # SystemExit and KeyboardInterrupt are student errors too
                header, out = _error(self.scratch, error), []
            try:
                self.reply(header, out)
            except (OSError, CodecError):
                return


def run(channel: socket.socket, output_fd: int, plan: sandbox.Plan, blocked: list[str]) -> None:
    """Entry point in the forked child. Never returns: the process ends with os._exit."""
    code = 0
    try:
        os.dup2(output_fd, 1)
        os.dup2(output_fd, 2)
        os.close(output_fd)
        report = sandbox.apply(plan)
        os.environ["HOME"] = plan.scratch  # a library's cache (matplotlib's, say) lands in the child's own folder
        _block_imports(blocked)
        sys.path.insert(0, plan.scratch)
        sys.dont_write_bytecode = True
        torch.set_num_threads(sandbox.THREADS)
        send_message(channel, {"ready": True, "isolation": report})
        Server(channel, plan.scratch).serve()
    except BaseException as error:  # report why the child could not start, then die
        try:
            send_message(channel, {"ready": False, "error": f"{type(error).__name__}: {error}"})
        except OSError:
            pass
        code = 1
    finally:
        os._exit(code)
