"""The Python packages the Slicer module needs beyond what Slicer ships, and what must not change.

Inside Slicer they are installed on first use (RenalMassAI.py): torch through the PyTorch extension,
the rest from Resources/requirements-slicer.txt (version ranges) with a constraints file that holds
Slicer's own numpy, SimpleITK and VTK, and the installed torch, at the versions installed now.
"""

import importlib.util
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from RenalMassAILib.resources import resources_dir

# Import names of what the library imports lazily (torch comes from the PyTorch extension).
REQUIRED_MODULES = ("torch", "nnunetv2", "pytorch_grad_cam", "safetensors", "sklearn", "skimage", "matplotlib")
# Distributions that belong to Slicer (or to the PyTorch extension): never replaced by a requirement.
KEPT_DISTRIBUTIONS = ("numpy", "SimpleITK", "vtk", "torch")
REQUIREMENTS_FILE = "requirements-slicer.txt"


def missing_modules() -> list[str]:
    """The import names of REQUIRED_MODULES that cannot be found in this Python."""
    return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]


def requirements_file() -> Path:
    return resources_dir() / REQUIREMENTS_FILE


def constraints_text() -> str:
    """pip constraints pinning the installed KEPT_DISTRIBUTIONS, so no requirement can replace them."""
    pins = []
    for name in KEPT_DISTRIBUTIONS:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue  # not installed (torch before the PyTorch extension has run): nothing to keep
    return "\n".join(pins) + "\n"


def requirement_lines(path: Path | None = None) -> list[str]:
    """The requirement lines of the requirements file (no comments, no pip options)."""
    text = (path or requirements_file()).read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(("#", "-"))]
