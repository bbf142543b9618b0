"""The grading secret: what seeds the inputs final grading generates.

A student kit holds the inputs and answers of the public draw, which anyone may
see. Final grading draws its inputs from a secret the kit does not hold, so a
submission that looks up the kit's answers passes its self-check and nothing
more. The secret is a file beside the rubric (`<rubric>.secret`), or the file
GRADER_SECRET_FILE names; it is only ever read by the trusted process, and hidden
from student code with the rubric's folder.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

ENVIRONMENT = "GRADER_SECRET_FILE"
MAX_BYTES = 4096


class SecretError(RuntimeError):
    """The secret file exists but cannot be used: grading stops rather than draw other inputs."""


def secret_path(rubric_path) -> Path:
    chosen = os.environ.get(ENVIRONMENT)
    return Path(chosen) if chosen else Path(rubric_path).with_suffix(".secret")


def read_secret(rubric_path) -> bytes | None:
    """The secret's bytes, or None where there is none."""
    path = secret_path(rubric_path)
    try:
        data = path.read_bytes()[:MAX_BYTES + 1]
    except FileNotFoundError:
        return None
    except OSError as error:
        raise SecretError(f"{path}: cannot read the grading secret ({error.strerror or error})") from None
    if not data.strip() or len(data) > MAX_BYTES:
        raise SecretError(f"{path}: the grading secret must be one line of 1 to {MAX_BYTES} bytes; "
                          f"delete it to have a new one made (grades then change)")
    return data.strip()


def create_secret(rubric_path) -> tuple[Path, bool]:
    """The secret's path, and whether it was made now; never replaces one."""
    path = secret_path(rubric_path)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path, False
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    return path, True


def draw_key(secret: bytes | None) -> bytes:
    """What is mixed into every item's seed: nothing for the public draw."""
    return b"" if secret is None else hashlib.sha256(b"grader draw\0" + secret).digest()


def fingerprint(secret: bytes | None) -> str:
    """A short name for the draw, safe to print and to keep in results: it does not reveal the secret."""
    return "public" if secret is None else hashlib.sha256(b"grader fingerprint\0" + secret).hexdigest()[:12]
