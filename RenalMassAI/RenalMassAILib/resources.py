"""Where the extension's Resources folder is: in a source checkout, or beside the library in Slicer."""

import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resources_dir() -> Path:
    candidates = [
        os.environ.get("RENALMASSAI_RESOURCES"),
        _HERE.parents[1] / "Resources",  # source checkout: <repo>/Resources
        _HERE.parent / "Resources",  # built Slicer module: qt-scripted-modules/Resources
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise FileNotFoundError("RenalMassAI Resources folder not found; set RENALMASSAI_RESOURCES")


def demo_case_dir() -> Path:
    return resources_dir() / "DemoCase"


def demo_segmentation_model() -> Path:
    """The bundled nnU-Net v2 trained-model folder (trained on phantoms)."""
    root = resources_dir() / "SegmentationModels" / "demo-nnunet-phantom"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if len(folders) != 1:
        raise FileNotFoundError(f"expected one trained-model folder in {root}")
    return folders[0]
