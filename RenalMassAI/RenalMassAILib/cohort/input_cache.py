"""Model inputs of every manifest case, prepared once and cached as .npz (keyed by the inputs)."""

import hashlib
import json
from pathlib import Path

import numpy as np

from RenalMassAILib.case.loading import load_case
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.cohort.manifest import ManifestRow
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.prepare import prepare_case


def cached_inputs(rows: list[ManifestRow], preprocessing: Preprocessing, cache_dir, progress=None):
    """patches [n, 3, H, W] (N, A, V slots; zeros where a phase is missing) and present [n, 3]."""
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    patches = np.zeros((len(rows), len(PHASE_SLOTS), preprocessing.size, preprocessing.size), dtype=np.float32)
    present = np.zeros((len(rows), len(PHASE_SLOTS)), dtype=bool)
    for i, row in enumerate(progress(rows) if progress else rows):
        path = cache_dir / f"{row.case_id}-{_key(row, preprocessing)}.npz"
        if not path.exists():
            np.savez_compressed(path, **_prepare(row, preprocessing))
        stored = np.load(path)
        patches[i], present[i] = stored["patches"], stored["present"]
    return patches, present


def _prepare(row: ManifestRow, preprocessing: Preprocessing) -> dict:
    try:
        case = load_case({phase: str(p) for phase, p in row.images.items()}, row.case_id)
        label_map = read_label_map(row.segmentation, case.reference) if row.segmentation else None
        prepared = prepare_case(case, preprocessing, label_map, row.center_lps)
    except InputError as error:
        raise InputError(f"case {row.case_id!r}: {error}") from None
    patches = np.zeros((len(PHASE_SLOTS), preprocessing.size, preprocessing.size), dtype=np.float32)
    present = np.zeros(len(PHASE_SLOTS), dtype=bool)
    for phase, patch in prepared.model_input.patches.items():
        slot = PHASE_SLOTS.index(phase.value)
        patches[slot], present[slot] = patch, True
    return {"patches": patches, "present": present}


def _key(row: ManifestRow, preprocessing: Preprocessing) -> str:
    files = [p for p in [*row.images.values(), row.segmentation] if p is not None]
    described = {
        "files": [[str(p), p.stat().st_size, p.stat().st_mtime_ns] if p.exists() else [str(p)] for p in files],
        "center": row.center_lps,
        "preprocessing": preprocessing.to_dict(),
    }
    return hashlib.sha1(json.dumps(described, sort_keys=True, default=str).encode()).hexdigest()[:16]
