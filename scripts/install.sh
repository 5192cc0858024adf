#!/usr/bin/env bash
# Creates .venv with the pinned, tested versions (pyproject.toml) and installs RenalMassAI into it.
# torch/torchvision come from this machine's local wheel store (see README, "Environment").
#
# pyradiomics (the radiomics baseline) is installed first, on its own: for Python 3.11 it is a source
# archive only (3.0.1; 3.1.0's archive has broken version metadata), whose setup imports numpy, so pip
# must build it without build isolation, after numpy, setuptools and wheel are in the environment.
# Its pin is the "radiomics" extra of pyproject.toml, read from there; the last step then finds that
# extra already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
pin() {  # pin <"dependencies" | extra name> <package>: the requirement pyproject.toml pins
    .venv/bin/python - "$1" "$2" <<'PY'
import sys, tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
group, package = sys.argv[1], sys.argv[2]
requirements = project["dependencies"] if group == "dependencies" else project["optional-dependencies"][group]
print(next(r for r in requirements if r.split("==")[0].lower() == package.lower()))
PY
}
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "$(pin dependencies numpy)" setuptools==84.2.1 wheel==0.48.0
.venv/bin/python -m pip install --quiet --no-build-isolation "$(pin radiomics pyradiomics)"
.venv/bin/python -m pip install --quiet -e ".[all,test,radiomics]"
echo "RenalMassAI installed in $(pwd)/.venv"
