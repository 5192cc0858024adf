"""What a batch case's result depends on, recorded in its result.json so that a rerun can tell
whether the case must be redone.

The settings are the case's manifest inputs (paths with size and modification time), the options
that change results (preprocessing, registration, label meanings) and each model's fingerprint: a
package folder by the SHA-256 of its model.json (which holds the weights' SHA-256), a .zip by its own
SHA-256, the default choice by every installed package's id, version and weights' SHA-256 (the
choice is made among them), an nnU-Net folder by the size and modification time of its files.
Threads are left out: they change the speed, not the result.
"""

import hashlib
import json
from pathlib import Path

from RenalMassAILib.errors import InputError


def settings_fingerprints(settings) -> dict:
    """The part shared by every case of a run (BatchSettings -> dict, models fingerprinted once)."""
    return {
        "preprocessing": settings.preprocessing,
        "register": bool(settings.register),
        "labels": settings.labels,
        "seg_model": _folder_fingerprint(settings.seg_model) if settings.seg_model else None,
        "malignancy_model": model_fingerprint(settings.malignancy_model),
        "aggressiveness_model": model_fingerprint(settings.aggressiveness_model),
    }


def case_settings(row, settings, shared: dict | None = None) -> dict:
    shared = settings_fingerprints(settings) if shared is None else shared
    inputs = {
        "images": {
            phase.value: _file_fingerprint(path)
            for phase, path in sorted(row.images.items(), key=lambda item: item[0].value)
        },
        "segmentation": _file_fingerprint(row.segmentation) if row.segmentation else None,
        "center_lps": list(row.center_lps) if row.center_lps else None,
    }
    return {**shared, "inputs": inputs}


def fingerprint(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()


def model_fingerprint(path) -> dict:
    if path is None:
        return {"installed": _installed_packages()}
    path = Path(path)
    if path.is_file():
        return {"path": str(path.resolve()), "sha256": _sha256(path)}
    card = path / "model.json"
    if card.is_file():
        return {"path": str(path.resolve()), "model_json_sha256": _sha256(card)}
    return {"path": str(path), "missing": True}


def _installed_packages() -> list[str]:
    from RenalMassAILib.classify.model_registry import list_installed

    return sorted(f"{i.card.id}:{i.card.version}:{i.card.sha256}" for i in list_installed() if i.card is not None)


def _folder_fingerprint(folder) -> dict:
    folder = Path(folder)
    if not folder.is_dir():
        return {"path": str(folder), "missing": True}
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return {
        "path": str(folder.resolve()),
        "files": {str(p.relative_to(folder)): [p.stat().st_size, p.stat().st_mtime_ns] for p in files},
    }


def _file_fingerprint(path) -> list:
    """[path, size, modification time]; a DICOM folder by its own time (files added or removed change it)."""
    path = Path(path)
    try:
        status = path.stat()
    except OSError:
        return [str(path), None, None]
    return [str(path), status.st_size if path.is_file() else None, status.st_mtime_ns]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise InputError(f"model {str(path)!r} cannot be read ({error.strerror})") from None
    return digest.hexdigest()
