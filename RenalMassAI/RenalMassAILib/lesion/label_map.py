"""A label map on the reference grid, with what each label value means."""

import dataclasses

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.reading import read_image
from RenalMassAILib.case.validation import check_overlap, check_spacing
from RenalMassAILib.errors import InputError

# KiTS21/23 and nnU-Net Task135 label values, used by the paper's segmentation model.
KITS_LABELS = {"kidney": 1, "tumor": 2, "cyst": 3}


@dataclasses.dataclass(frozen=True)
class LabelMap:
    image: sitk.Image  # uint8, on the reference grid
    labels: dict = dataclasses.field(default_factory=lambda: dict(KITS_LABELS))  # name -> value

    def value(self, name: str) -> int:
        return self.labels[name]


def read_label_map(path, reference: sitk.Image, labels: dict | None = None,
                   what: str = "segmentation", reference_what: str = "the reference phase") -> LabelMap:
    """Reads a label image and puts it on the reference grid (nearest neighbour in physical space)."""
    image, _ = read_image(path, what)
    return to_label_map(image, reference, labels, f"{what} {str(path)!r}", reference_what)


def to_label_map(image: sitk.Image, reference: sitk.Image, labels: dict | None = None,
                 what: str = "segmentation", reference_what: str = "the reference phase") -> LabelMap:
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(f"{what}: expected a 3D label volume, got {image.GetDimension()}D with "
                         f"{image.GetNumberOfComponentsPerPixel()} component(s)")
    check_spacing(image, what)
    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
        raise InputError(f"{what}: holds non-integer values; expected labels (kidney 1, tumor 2, cyst 3)")
    if values.min() < 0 or values.max() > 255:
        raise InputError(f"{what}: label values {values.min()}..{values.max()} are outside 0..255")
    check_overlap(image, reference, what, reference_what)
    image = sitk.Cast(image, sitk.sitkUInt8)
    if not same_grid(image, reference):
        image = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return LabelMap(image, dict(labels or KITS_LABELS))


def same_grid(a: sitk.Image, b: sitk.Image, tolerance: float = 1e-4) -> bool:
    return (a.GetSize() == b.GetSize()
            and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tolerance)
            and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tolerance * 100)
            and np.allclose(a.GetDirection(), b.GetDirection(), atol=tolerance))
