"""NaN and infinite voxels in NIfTI files, found in the raw data.

ITK's NIfTI reader replaces NaN by 0 (water in HU) before anyone sees it, so the check streams the
stored voxels itself (header and decompression by nibabel), in chunks so that memory stays small
whatever the volume's size.
"""

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener

from RenalMassAILib.errors import InputError

NIFTI_SUFFIXES = (".nii", ".nii.gz")
_CHUNK_VOXELS = 8 * 1024 * 1024


def is_nifti(path: str) -> bool:
    return path.lower().endswith(NIFTI_SUFFIXES)


def check_nifti_values_finite(path: str, what: str) -> None:
    """Raises InputError when stored float voxels are NaN or infinite (integer files cannot be)."""
    try:
        stored = nib.load(path).dataobj  # where the voxels start in the file, their type and shape
        offset, dtype, count = int(stored.offset), np.dtype(stored.dtype), int(np.prod(stored.shape))
    except Exception:
        return
    if dtype.kind not in "fc":
        return
    bad = _count_non_finite(path, offset, dtype, count)
    if bad:
        raise InputError(
            f"{what}: {bad} voxel(s) are NaN or infinite in the file's raw data (ITK would read "
            "them as 0 HU); fix or mask them before analysis"
        )


def _count_non_finite(path: str, offset: int, dtype: np.dtype, count: int) -> int:
    bad = 0
    with ImageOpener(path) as stream:
        stream.seek(offset)
        while count > 0:
            chunk = stream.read(min(count, _CHUNK_VOXELS) * dtype.itemsize)
            voxels = np.frombuffer(chunk[: len(chunk) // dtype.itemsize * dtype.itemsize], dtype=dtype)
            if voxels.size == 0:
                break  # a truncated file; ITK reports it when reading
            bad += int(np.count_nonzero(~np.isfinite(voxels)))
            count -= voxels.size
    return bad
