"""Whether a demo segmentation model is being run on an image it can be trusted on: the bundled phantom.

The bundled demo nnU-Net model was trained on synthetic phantoms only; on a real CT it labels kidney
and "tumor" where there is none. An image counts as the bundled phantom when its voxels are exactly
those of one of the images in Resources/DemoCase (compared by SHA-256 of the voxel array, after a size
check that reads only the file headers). Any other image, including other generated phantoms, gets
the warning: that is the honest statement, since only the bundled case is known to be a phantom.
"""

import hashlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.resources import demo_case_dir

DEMO_MODEL_WARNING = (
    "WARNING: the demo segmentation model ({model}) was trained on synthetic phantoms only and "
    "this image is not the bundled phantom: its kidney / tumor / cyst labels are not findings"
)


def voxel_digest(image: sitk.Image) -> str:
    """SHA-256 of the voxel values and the array shape, independent of the file and of the integer or
    float type they are stored in (values are compared as float32: exact for CT's integer HU)."""
    values = np.ascontiguousarray(sitk.GetArrayViewFromImage(image), dtype=np.float32)
    digest = hashlib.sha256(str(values.shape).encode())
    digest.update(values.tobytes())
    return digest.hexdigest()


def is_bundled_phantom(image: sitk.Image, folder: Path | None = None) -> bool:
    """True when the image's voxels equal those of one image of the bundled demo case."""
    size = tuple(image.GetSize())
    digest = None
    for path in sorted((folder or demo_case_dir()).glob("*.nii.gz")):
        if path.name.startswith("segmentation"):
            continue
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        if tuple(reader.GetSize()) != size:
            continue
        digest = digest or voxel_digest(image)
        if voxel_digest(sitk.ReadImage(str(path))) == digest:
            return True
    return False


def demo_model_warning(model_id: str, images: list[sitk.Image]) -> str | None:
    """The warning for a demo model reading images of which any is not the bundled phantom; else None."""
    if all(is_bundled_phantom(image) for image in images):
        return None
    return DEMO_MODEL_WARNING.format(model=model_id)
