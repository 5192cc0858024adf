"""Shared fixtures: phantoms are made in the tests themselves (deterministic seeds).

The tests never see the user's model registry or caches: RENALMASSAI_MODELS, RENALMASSAI_CACHE and
RENALMASSAI_LOGS (the workers' logs) point at fresh temporary folders for the whole session (set
before any RenalMassAILib import), so an installed package cannot change a test's result and no test
writes under ~/.cache.
"""

import atexit
import csv
import functools
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
_SESSION_FOLDER = tempfile.mkdtemp(prefix="renalmassai-tests-")
atexit.register(shutil.rmtree, _SESSION_FOLDER, ignore_errors=True)
os.environ["RENALMASSAI_MODELS"] = os.path.join(_SESSION_FOLDER, "models")
os.environ["RENALMASSAI_CACHE"] = os.path.join(_SESSION_FOLDER, "cache")
os.environ["RENALMASSAI_LOGS"] = os.path.join(_SESSION_FOLDER, "logs")

from RenalMassAILib.phantom import PhantomSpec, make_phantom  # noqa: E402

# Index axes of test grids, as ITK direction matrices (columns = index axes in LPS).
ORIENTATIONS = {
    "LPS": np.eye(3),
    "RAS": np.diag([-1.0, -1.0, 1.0]),
    # sagittal acquisition: i -> posterior, j -> inferior, k -> left
    "sagittal": np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]]),
    # coronal acquisition: i -> left, j -> inferior, k -> anterior
    "coronal": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, -1.0, 0.0]]),
}


CENTER_AT_ORIGIN = ["--center-lps", "0", "0", "0"]  # a center for commands that only get as far as reading
PHASE_OPTIONS = {"N": ("-N", "non-contrast"), "A": ("-A", "arterial"), "V": ("-V", "venous")}


def phase_arguments(files: dict, phases: str = "NAV") -> list[str]:
    """Command-line phase options for a phantom written with `Phantom.write` (files by phase name)."""
    return [text for letter in phases for text in (PHASE_OPTIONS[letter][0], str(files[PHASE_OPTIONS[letter][1]]))]


def csv_rows(path) -> list[dict]:
    """The rows of a CSV file with a header line, as dicts."""
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def oblique(degrees: float = 20.0) -> np.ndarray:
    from RenalMassAILib.phantom.shapes import rotation_matrix

    return rotation_matrix([0.3, 0.5, 1.0], degrees)


ORIENTATIONS["oblique"] = oblique()


def grid_for(orientation: np.ndarray, extent_mm=(240.0, 240.0, 150.0), spacing_mm=(1.5, 1.5, 1.5)):
    """Size and spacing whose index axes cover the same LPS extent whatever the orientation."""
    axis_of = np.abs(orientation).argmax(axis=0)  # LPS axis each index axis runs along
    spacing = tuple(float(spacing_mm[a]) for a in axis_of)
    size = tuple(round(extent_mm[a] / spacing_mm[a]) for a in axis_of)
    return size, spacing


@functools.cache
def phantom(**changes):
    """Cached: the same spec gives the same phantom (PhantomSpec is deterministic per seed)."""
    return make_phantom(PhantomSpec(), **changes)


@pytest.fixture(scope="session")
def small_phantom():
    return phantom(seed=11, size=(128, 128, 48), spacing=(2.2, 2.2, 3.0), side="left", pole="mid")


@functools.cache
def fixed_field_classifier() -> Path:
    """A demo package of the shared-backbone network (random weights) on the fixed 120 mm field, for
    tests that analyze at a center without a segmented mass (the bundled classifier sizes its field to
    the mass and refuses them)."""
    import tempfile

    import torch

    from RenalMassAILib.classify.model_package import write_package
    from RenalMassAILib.classify.networks import build_network
    from RenalMassAILib.classify.preprocessing import PRESETS

    torch.manual_seed(0)
    tasks, phases = ("malignancy", "aggressiveness"), ("N", "A", "V")
    card = {"id": "fixed-field-test", "version": "1.0", "demo": True, "tasks": list(tasks), "phases": list(phases),
            "architecture": "shared-backbone", "preprocessing": PRESETS["authors-code"].to_dict()}  # fmt: skip
    os.makedirs(os.environ["RENALMASSAI_CACHE"], exist_ok=True)  # the session's, removed at its end
    folder = Path(tempfile.mkdtemp(prefix="fixed-field-classifier-", dir=os.environ["RENALMASSAI_CACHE"]))
    return write_package(folder / "package", build_network("shared-backbone", phases, tasks), card)
