"""A cohort of phantoms written as NIfTI with a manifest (case_id, phases, segmentation or center,
class, split): the input of `train`, `batch` and `baseline` for worked examples and demo models."""

from pathlib import Path

import numpy as np

from RenalMassAILib.cohort.manifest import write_manifest
from RenalMassAILib.phantom.generator import PhantomSpec, make_phantom

# subtype -> share of the cohort (benign, indolent and aggressive masses, solid and cystic)
MIX = {
    "ccRCC": 0.32,
    "papillary": 0.12,
    "chromophobe": 0.08,
    "oncocytoma": 0.1,
    "fat-poor-AML": 0.08,
    "classic-AML": 0.08,
    "bosniak-2F": 0.06,
    "bosniak-3": 0.08,
    "bosniak-4": 0.08,
}


def write_phantom_cohort(
    folder,
    cases: int,
    seed: int = 100,
    subtypes=None,
    size=(128, 128, 28),
    spacing=(2.6, 2.6, 4.0),
    variability: float = 1.0,
    log=None,
) -> Path:
    """Writes `cases` phantoms (subtypes drawn from MIX, kept if in `subtypes`) and manifest.csv;
    splits 70 / 15 / 15 % train / val / test by case number. Returns the manifest's path."""
    folder = Path(folder)
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(cases):
        subtype = str(rng.choice(list(MIX), p=np.array(list(MIX.values())) / sum(MIX.values())))
        spec = PhantomSpec(
            subtype=subtype,
            diameter_mm=float(rng.uniform(20, 70)),
            grade=int(rng.integers(1, 5)),
            necrosis=bool(rng.random() < 0.3),
            exophytic=float(rng.uniform(0.2, 0.8)),
            size=tuple(size),
            spacing=tuple(spacing),
            variability=variability,
            seed=seed * 10000 + number,
        )
        if subtypes is not None and subtype not in subtypes:
            continue
        phantom = make_phantom(spec)
        case_id = f"phantom{number:04d}"
        phantom.write(folder / case_id)
        # Bosniak 2 / 2F: a cyst (label 3) and no tumor, so no automatic center: the center is given, beside
        # the label map (which a lesion-field model needs to size its field of view to the mass).
        is_cyst = subtype.startswith("bosniak-2")
        split = "train" if number % 20 < 14 else ("val" if number % 20 < 17 else "test")
        rows.append(
            {
                "case_id": case_id,
                "non_contrast": f"{case_id}/non-contrast.nii.gz",
                "arterial": f"{case_id}/arterial.nii.gz",
                "venous": f"{case_id}/venous.nii.gz",
                "segmentation": f"{case_id}/segmentation.nii.gz",
                "center_lps": " ".join(f"{c:.2f}" for c in phantom.lesion_center_lps) if is_cyst else "",
                "class": phantom.pathology,
                "split": split,
                "subtype": subtype,
            }
        )
        if log and number % 20 == 0:
            log(f"phantom {number}/{cases}")
    return write_manifest(folder / "manifest.csv", rows)
