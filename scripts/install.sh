#!/usr/bin/env bash
# Creates .venv with the pinned, tested versions (pyproject.toml) and installs RenalMassAI into it.
# torch/torchvision come from this machine's local wheel store (see README, "Environment").
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[all,test]"
echo "RenalMassAI installed in $(pwd)/.venv"
