#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# Outside /autograder: the grader hides that tree from student code, and the interpreter must stay visible.
VENV="${GRADER_VENV:-/opt/grader-venv}"

export DEBIAN_FRONTEND=noninteractive
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
# installing the project then pulls no other build. Set TORCH_INDEX_URL to PyTorch's CPU wheel
# index to get that build; its "+cpu" wheels then win over the default index's.
"$VENV/bin/python" -m pip install -q torch==2.13.0 ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"}
"$VENV/bin/python" -m pip install -q "$HERE/project"
"$VENV/bin/python" -m grader --version

# The grader, the reference and this folder (the rubric, the project's source) are root's alone. Student code
# runs under a private uid, so file permissions keep it out of them too, beside Landlock's rules: this holds
# even on a kernel without Landlock. numpy, torch and the rest of the environment stay readable.
"$VENV/bin/python" -m grader gradescope trusted-paths "$HERE/rubric.yaml" | while IFS= read -r path; do
  chmod -R go-rwx "$path"
done
chmod -R go-rwx "$HERE"
