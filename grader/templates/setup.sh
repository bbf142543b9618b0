#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# Outside /autograder: the grader hides that tree from student code, and the interpreter must stay visible.
VENV="${GRADER_VENV:-/opt/grader-venv}"

export DEBIAN_FRONTEND=noninteractive
# Without apt-utils (a minimal image) debconf says it delays package configuration, which changes nothing here.
export DEBCONF_NOWARNINGS=yes
apt-get update -q
# The engine needs Python 3.11 or newer; older images get it as a separate package. libseccomp2 is the
# system library behind the child's system-call filter (Debian and Ubuntu images have it already).
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  PYTHON=python3
  apt-get install -y -q python3-venv python3-pip libseccomp2
else
  PYTHON=python3.11
  apt-get install -y -q python3.11 python3.11-venv libseccomp2
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip

# The CPU build of torch goes in before the project: the project's torch range admits it, so
# installing the project then pulls no other build. PyTorch's CPU index sits beside the default
# one, whose 2.13.0 for x86-64 Linux is the CUDA build (GBs); the index's "2.13.0+cpu" matches
# ==2.13.0 and sorts above it, so pip takes it. TORCH_INDEX_URL names another index (a mirror).
# Where the index cannot be reached, pip goes on with the default one at once: one retry, a
# short timeout, and torch alone asked of it (its dependencies come with the project).
TORCH_INDEX_URL="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}"
"$VENV/bin/python" -m pip install -q --no-deps --retries 1 --timeout 10 torch==2.13.0 --extra-index-url "$TORCH_INDEX_URL"
"$VENV/bin/python" -m pip install -q "$HERE/project"
"$VENV/bin/python" -m grader --version

# The grader, the reference and this folder (the rubric, the project's source) are root's alone. Student code
# runs under a private uid, so file permissions keep it out of them too, beside Landlock's rules: this holds
# even on a kernel without Landlock. numpy, torch and the rest of the environment stay readable.
"$VENV/bin/python" -m grader gradescope trusted-paths "$HERE/rubric.yaml" | while IFS= read -r path; do
  chmod -R go-rwx "$path"
done
chmod -R go-rwx "$HERE"
