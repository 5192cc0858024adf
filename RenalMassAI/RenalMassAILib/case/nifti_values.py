"""NaN and infinite voxels in NIfTI files, found in the raw data.

ITK's NIfTI reader replaces NaN by 0 (water in HU) before anyone sees it, so the check reads the
file with nibabel, which keeps the stored values .
"""

import nibabel as nib
import numpy as np

from RenalMassAILib.errors import InputError

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: str) -> bool:
    return path.lower().endswith(NIFTI_SUFFIXES)


def check_nifti_values_finite(path: str, what: str) -> None:
    """Raises InputError when stored float voxels are NaN or infinite (integer files cannot be)."""
    try:
        image = nib.load(path)
    except Exception:  # noqa: BLE001 - an unreadable file is reported by the ITK reader after this
        return
    if image.get_data_dtype().kind != "f":
        return  # integers cannot hold NaN
    voxels = np.asanyarray(image.dataobj)
    bad = int(np.count_nonzero(~np.isfinite(voxels)))
    if bad:
        raise InputError(f"{what}: {bad} voxel(s) are NaN or infinite in the file's raw data (ITK would read "
                         "them as 0 HU); fix or mask them before analysis")
