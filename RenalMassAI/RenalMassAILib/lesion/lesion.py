"""Connected tumor components of a label map and their measurements, largest first."""

import dataclasses

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.validation import physical_bounds
from RenalMassAILib.lesion.label_map import LabelMap

# In-plane resolution used to find the axial slice of largest tumor area (mm).
AREA_PIXEL_MM = 0.5
AREA_SLICE_MM = 1.0


@dataclasses.dataclass(frozen=True)
class Lesion:
    centroid_lps: tuple[float, float, float]  # center of mass of the component (mm)
    volume_ml: float
    max_diameter_mm: float  # largest distance between two boundary points (Feret)
    side: str  # 'left' or 'right' (patient)
    max_area_z_lps: float  # z of the axial plane with the largest tumor cross-section
    max_area_mm2: float
    voxels: int

    def summary(self) -> dict:
        return {
            "centroid_lps": [round(c, 3) for c in self.centroid_lps],
            "volume_ml": round(self.volume_ml, 3),
            "max_diameter_mm": round(self.max_diameter_mm, 2),
            "side": self.side,
            "max_area_z_lps": round(self.max_area_z_lps, 3),
            "max_area_mm2": round(self.max_area_mm2, 2),
            "voxels": self.voxels,
        }


def find_lesions(label_map: LabelMap, midline_x_lps: float, label: str = "tumor") -> list[Lesion]:
    """26-connected components of one label, largest first ([] when the label is absent)."""
    components = _components(label_map.image, label_map.value(label))
    if components is None:
        return []
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.ComputeFeretDiameterOn()
    stats.Execute(components)
    lesions = []
    for value in sorted(stats.GetLabels()):  # RelabelComponent numbers them by size
        centroid = stats.GetCentroid(value)
        z, area = _largest_axial_section(components, value)
        lesions.append(
            Lesion(
                centroid_lps=tuple(centroid),
                volume_ml=stats.GetPhysicalSize(value) / 1000.0,
                max_diameter_mm=stats.GetFeretDiameter(value),
                side="left" if centroid[0] > midline_x_lps else "right",  # LPS: +x is the patient's left
                max_area_z_lps=z,
                max_area_mm2=area,
                voxels=stats.GetNumberOfPixels(value),
            )
        )
    return lesions


def lesion_at(lesions: list[Lesion], point_lps, label_map: LabelMap, label: str = "tumor") -> Lesion | None:
    """The component containing point_lps, else the nearest one whose centroid is within its diameter."""
    if not lesions:
        return None
    point = np.asarray(point_lps, dtype=float)
    for lesion, inside in zip(lesions, _contains(lesions, point, label_map, label)):
        if inside:
            return lesion
    distances = [np.linalg.norm(point - lesion.centroid_lps) for lesion in lesions]
    nearest = int(np.argmin(distances))
    return lesions[nearest] if distances[nearest] <= lesions[nearest].max_diameter_mm else None


def body_midline_x(image: sitk.Image) -> float:
    """Mean LPS x of body voxels (> -300 HU) on a subsample: the patient's left/right divide."""
    step = max(1, round((np.prod(image.GetSize()) / 1e6) ** (1 / 3)))
    voxels = sitk.GetArrayViewFromImage(image)[::step, ::step, ::step]
    k, j, i = np.nonzero(voxels > -300)
    if i.size == 0:
        return float(image.TransformContinuousIndexToPhysicalPoint([(n - 1) / 2 for n in image.GetSize()])[0])
    index = np.stack([i, j, k]).astype(float) * step
    direction = np.array(image.GetDirection()).reshape(3, 3)
    x = image.GetOrigin()[0] + (direction @ (index * np.array(image.GetSpacing())[:, None]))[0]
    return float(x.mean())


def _components(image: sitk.Image, value: int) -> sitk.Image | None:
    """Size-sorted components of one label, cropped to its bounding box (fast on large volumes)."""
    mask = sitk.GetArrayViewFromImage(image) == value
    if not mask.any():
        return None
    bounds = [np.nonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))[0] for axis in range(3)]
    low = [int(b[0]) for b in bounds][::-1]  # numpy (k, j, i) -> ITK (i, j, k)
    size = [int(b[-1] - b[0] + 1) for b in bounds][::-1]
    crop = sitk.RegionOfInterest(image, size, low)
    binary = sitk.BinaryThreshold(crop, value, value, 1, 0)
    return sitk.RelabelComponent(sitk.ConnectedComponent(binary, True), sortByObjectSize=True)


def _largest_axial_section(components: sitk.Image, value: int) -> tuple[float, float]:
    """z (LPS) and area of the axial plane cutting the component widest, whatever the grid's orientation."""
    mask = sitk.Cast(sitk.BinaryThreshold(components, value, value, 1, 0), sitk.sitkFloat32)
    low, high = physical_bounds(mask, edges=False)
    spacing = np.array([AREA_PIXEL_MM, AREA_PIXEL_MM, AREA_SLICE_MM])
    size = np.maximum(np.ceil((high - low) / spacing).astype(int) + 1, 1)
    axial = sitk.Image(size.tolist(), sitk.sitkFloat32)
    axial.SetOrigin(low.tolist())
    axial.SetSpacing(spacing.tolist())
    resampled = sitk.Resample(mask, axial, sitk.Transform(), sitk.sitkLinear, 0.0)
    areas = (sitk.GetArrayViewFromImage(resampled) >= 0.5).sum(axis=(1, 2)) * spacing[0] * spacing[1]
    best = int(np.argmax(areas))
    return float(low[2] + best * spacing[2]), float(areas[best])


def _contains(lesions: list[Lesion], point: np.ndarray, label_map: LabelMap, label: str) -> list[bool]:
    """Whether point lies in each lesion (components recomputed: cheap, and keeps Lesion plain data)."""
    components = _components(label_map.image, label_map.value(label))
    index = components.TransformPhysicalPointToIndex(point.tolist())
    inside = all(0 <= i < n for i, n in zip(index, components.GetSize()))
    value = components[index] if inside else 0
    return [number == value for number in range(1, len(lesions) + 1)]
