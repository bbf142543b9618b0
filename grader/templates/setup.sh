#!/usr/bin/env bash
# Runs once, as root, when Gradescope builds the autograder image.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
# Outside /autograder: the grader hides that tree from student code, and the interpreter must stay visible.
VENV="${GRADER_VENV:-/opt/grader-venv}"

export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# The engine needs Python 3.11 or newer; older images get it as a separate package.
if python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  PYTHON=python3
  apt-get install -y -q python3-venv python3-pip
else
  PYTHON=python3.11
  apt-get install -y -q python3.11 python3.11-venv
fi

"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip

# The CPU build of torch goes in before the project: the project's torch range admits it, so
# installing the project then pulls no other build. Set TORCH_INDEX_URL to PyTorch's CPU wheel
# index to get that build; its "+cpu" wheels then win over the default index's.
"$VENV/bin/python" -m pip install -q torch==2.13.0 ${TORCH_INDEX_URL:+--extra-index-url "$TORCH_INDEX_URL"}
"$VENV/bin/python" -m pip install -q "$HERE/project"
"$VENV/bin/python" -m grader --version
