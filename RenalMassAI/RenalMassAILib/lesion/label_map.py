"""A label map on the reference grid, with what each label value means.

Maps arrive in the KiTS convention (kidney 1, tumor 2, cyst 3) or with their meanings named
(`LabelMeanings`, from `--labels`); named maps are turned into the convention here, so everything
downstream reads one convention. A map holding values beyond 0-3 without named meanings is refused:
read as KiTS it would be silently wrong (in a TotalSegmentator map, 2 is the right kidney).
What was read, and how, is kept in `LabelMap.record` for prepare.json / report.json.
"""

import dataclasses

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.reading import read_image
from RenalMassAILib.case.validation import check_overlap, check_spacing
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_meanings import KITS_LABELS, LabelMeanings

# KITS_LABELS: KiTS21/23 and nnU-Net Task135 label values, used by the paper's segmentation model.


@dataclasses.dataclass(frozen=True)
class LabelMap:
    image: sitk.Image  # uint8, on the reference grid
    labels: dict = dataclasses.field(default_factory=lambda: dict(KITS_LABELS))  # name -> value
    record: dict | None = None  # how the source's values were read (meanings, values found, set to background)

    def value(self, name: str) -> int:
        return self.labels[name]


def read_label_map(path, reference: sitk.Image, what: str = "segmentation", **conversion) -> LabelMap:
    """Reads a label image and puts it on the reference grid (nearest neighbour in physical space);
    `conversion`: the other options of `to_label_map` (`meanings` turns the values into kidney 1 /
    tumor 2 / cyst 3 first)."""
    image, _ = read_image(path, what)
    return to_label_map(image, reference, what=f"{what} {str(path)!r}", **conversion)


def to_label_map(
    image: sitk.Image,
    reference: sitk.Image,
    labels: dict | None = None,
    what: str = "segmentation",
    reference_what: str = "the reference phase",
    meanings: LabelMeanings | None = None,
) -> LabelMap:
    """A label image checked and put on the reference grid (nearest neighbour in physical space).

    Values are read as kidney 1 / tumor 2 / cyst 3 (values beyond 0-3 refused); `labels` (name ->
    value) declares another convention unchecked; `meanings` converts values to KiTS first.
    `what` / `reference_what` name the two images in errors."""
    if image.GetDimension() != 3 or image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{what}: expected a 3D label volume, got {image.GetDimension()}D with "
            f"{image.GetNumberOfComponentsPerPixel()} component(s)"
        )
    check_spacing(image, what)
    values = sitk.GetArrayViewFromImage(image)
    if values.dtype.kind == "f" and not np.array_equal(values, np.round(values)):
        raise InputError(f"{what}: holds non-integer values; expected labels (kidney 1, tumor 2, cyst 3)")
    found = _values_present(values)
    record = None
    if meanings is not None:
        image, record = _to_kits_values(image, values, found, meanings)
    else:
        if labels is None:
            _check_kits_convention(found, what)
            record = {**LabelMeanings.kits().to_dict(), "values_found": found}
        if found[0] < 0 or found[-1] > 255:
            raise InputError(f"{what}: label values {found[0]}..{found[-1]} are outside 0..255")
    check_overlap(image, reference, what, reference_what)
    image = sitk.Cast(image, sitk.sitkUInt8)
    if not same_grid(image, reference):
        image = sitk.Resample(image, reference, sitk.Transform(), sitk.sitkNearestNeighbor, 0, sitk.sitkUInt8)
    return LabelMap(image, dict(labels or KITS_LABELS) if meanings is None else dict(KITS_LABELS), record)


def _values_present(values: np.ndarray) -> list[int]:
    """The distinct label values, sorted. Maps within 0-3 (the usual case) take a few comparisons
    instead of a sort of every voxel (0.13 s rather than 1.2 s for 512 x 512 x 300 here)."""
    low, high = int(values.min()), int(values.max())
    if low >= 0 and high <= max(KITS_LABELS.values()):
        return [v for v in range(low, high + 1) if v in (low, high) or bool(np.any(values == v))]
    return [int(v) for v in np.unique(values)]


def _check_kits_convention(found: list[int], what: str) -> None:
    beyond = [v for v in found if v not in (0, *KITS_LABELS.values())]
    if beyond:
        raise InputError(
            f"{what}: holds labels {_value_list(found)}, not only kidney 1 / tumor 2 / cyst 3, so "
            "its values cannot be read by the KiTS convention; name their meanings with --labels "
            "(e.g. --labels kidney=2+3 for a TotalSegmentator map) or --labels path/to/dataset.json"
        )


def _to_kits_values(image: sitk.Image, values: np.ndarray, found: list[int], meanings: LabelMeanings):
    """The source map with its named values as kidney 1 / tumor 2 / cyst 3 and every other value 0."""
    kits = np.zeros(values.shape, np.uint8)
    for source, target in meanings.value_of().items():
        kits[values == source] = target
    converted = sitk.GetImageFromArray(kits)
    converted.CopyInformation(image)
    named = set(meanings.value_of())
    record = {
        **meanings.to_dict(),
        "values_found": found,
        "set_to_background": [v for v in found if v != 0 and v not in named],
        "named_but_absent": sorted(named - set(found)),
    }
    return converted, record


def _value_list(found: list[int]) -> str:
    shown = [v for v in found if v != 0]
    text = ", ".join(map(str, shown)) if len(shown) <= 8 else f"{', '.join(map(str, shown[:6]))}, ..., {shown[-1]}"
    return f"{text} ({len(shown)} labels besides 0)"


def same_grid(a: sitk.Image, b: sitk.Image, tolerance: float = 1e-4) -> bool:
    return (
        a.GetSize() == b.GetSize()
        and np.allclose(a.GetSpacing(), b.GetSpacing(), atol=tolerance)
        and np.allclose(a.GetOrigin(), b.GetOrigin(), atol=tolerance * 100)
        and np.allclose(a.GetDirection(), b.GetDirection(), atol=tolerance)
    )
