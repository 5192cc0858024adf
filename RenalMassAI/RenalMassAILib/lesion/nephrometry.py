"""Automated R.E.N.A.L. nephrometry (Kutikov & Uzzo 2009) from a kidney + tumor label map and the CT.

No collecting-system label is needed; the approach follows the published automation (Heller et al.,
J Urol 2022), re-implemented here:
- the kidney and its tumor are resampled onto an axis-aligned 1 mm grid (axial slices for any
  acquisition orientation);
- renal sinus = the largest body of low-attenuation voxels (< -30 HU after a 1 mm Gaussian blur)
  inside the per-slice convex hull of the kidney; collecting system = kidney voxels inside the per-slice
  convex hull of the sinus, plus the sinus;
- R: largest tumor diameter; E: share of tumor voxels outside the per-slice convex hull of the
  kidney; N: smallest 3D distance tumor -> collecting system / sinus; A: tumor vs kidney centroid
  along the anterior-posterior axis; L: share of the tumor between the polar lines (the first and
  last axial slices holding sinus) and whether it crosses the axial midline between them.
Every component is given as points and as its continuous value. The hilar "h" suffix needs the main
renal vessels, which the label map lacks: it is reported as not assessed.
"""

import dataclasses

import numpy as np
import SimpleITK as sitk
from scipy import ndimage
from skimage.morphology import convex_hull_image

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.lesion.lesion import Lesion

GRID_MM = 1.0
MARGIN_MM = 15.0
SINUS_HU = -30.0
BLUR_MM = 1.0
AP_NEUTRAL_MM = 5.0  # |tumor - kidney centroid| along A-P below this: neither anterior nor posterior ("x")


@dataclasses.dataclass(frozen=True)
class Nephrometry:
    radius_mm: float  # R: largest diameter
    exophytic_share: float  # E: share of the tumor outside the kidney's outline
    nearness_mm: float | None  # N: distance to the collecting system / sinus (None: no sinus found)
    anterior_offset_mm: float  # A: tumor centroid minus kidney centroid, + = anterior
    between_polar_lines: float | None  # L: share of the tumor between the polar lines
    crosses_midline: bool | None  # L: the tumor spans the axial midline between the polar lines

    @property
    def r_points(self) -> int:
        return 1 if self.radius_mm <= 40 else 2 if self.radius_mm < 70 else 3

    @property
    def e_points(self) -> int:
        # "Entirely endophytic" allows for partial-volume voxels at the capsule.
        return 1 if self.exophytic_share >= 0.5 else 2 if self.exophytic_share > 0.02 else 3

    @property
    def n_points(self) -> int | None:
        if self.nearness_mm is None:
            return None
        return 1 if self.nearness_mm >= 7 else 2 if self.nearness_mm > 4 else 3

    @property
    def a_descriptor(self) -> str:
        if abs(self.anterior_offset_mm) < AP_NEUTRAL_MM:
            return "x"
        return "a" if self.anterior_offset_mm > 0 else "p"

    @property
    def l_points(self) -> int | None:
        if self.between_polar_lines is None:
            return None
        if self.between_polar_lines > 0.5 or self.crosses_midline:
            return 3
        return 2 if self.between_polar_lines > 0 else 1

    @property
    def total(self) -> int | None:
        parts = (self.r_points, self.e_points, self.n_points, self.l_points)
        return None if None in parts else sum(parts)

    @property
    def complexity(self) -> str | None:
        total = self.total
        if total is None:
            return None
        return "low" if total <= 6 else "moderate" if total <= 9 else "high"

    def summary(self) -> dict:
        return {
            "R_points": self.r_points,
            "R_diameter_mm": round(self.radius_mm, 1),
            "E_points": self.e_points,
            "E_exophytic_share": round(self.exophytic_share, 3),
            "N_points": self.n_points,
            "N_distance_mm": None if self.nearness_mm is None else round(self.nearness_mm, 1),
            "A": self.a_descriptor,
            "A_offset_mm": round(self.anterior_offset_mm, 1),
            "L_points": self.l_points,
            "L_share_between_polar_lines": None
            if self.between_polar_lines is None
            else round(self.between_polar_lines, 3),
            "L_crosses_midline": self.crosses_midline,
            "h": None,  # hilar: not assessed (no vessel labels)
            "total": self.total,
            "score": f"{self.total}{self.a_descriptor}" if self.total is not None else None,
            "complexity": self.complexity,
        }


def nephrometry(label_map: LabelMap, ct: sitk.Image, lesion: Lesion) -> Nephrometry:
    """R.E.N.A.L. of one tumor component; `ct` is a phase on the label map's grid (or overlapping it)."""
    tumor, kidney, hu, spacing = _regional_arrays(label_map, ct, lesion)
    kidney_hull = _slice_hulls(kidney)
    blurred = ndimage.gaussian_filter(hu, sigma=BLUR_MM / np.asarray(spacing))
    sinus = _largest_component(kidney_hull & (blurred < SINUS_HU) & ~tumor)
    collecting = sinus | (kidney & _slice_hulls(sinus))
    outside = tumor & ~kidney_hull
    exophytic = float(outside.sum() / tumor.sum())
    nearness = None
    if collecting.any():
        distance = ndimage.distance_transform_edt(~collecting, sampling=spacing)
        nearness = float(distance[tumor].min())
    # Array axes are (z, y, x) of an LPS-aligned grid: +y is posterior.
    tumor_y = np.nonzero(tumor)[1].mean() * spacing[1]
    kidney_y = np.nonzero(kidney | tumor)[1].mean() * spacing[1]
    between, crosses = _polar_location(tumor, sinus)
    return Nephrometry(lesion.max_diameter_mm, exophytic, nearness, float(kidney_y - tumor_y), between, crosses)


def _polar_location(tumor: np.ndarray, sinus: np.ndarray) -> tuple[float | None, bool | None]:
    sinus_slices = np.nonzero(sinus.any(axis=(1, 2)))[0]
    if sinus_slices.size == 0:
        return None, None
    lower, upper = int(sinus_slices.min()), int(sinus_slices.max())
    tumor_slices = np.nonzero(tumor)[0]
    between = float(((tumor_slices >= lower) & (tumor_slices <= upper)).mean())
    midline = (lower + upper) / 2
    return between, bool(tumor_slices.min() <= midline <= tumor_slices.max())


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The sinus is one body; specks of fat caught in the hull's corners at the poles are not."""
    components, count = ndimage.label(mask)
    if count <= 1:
        return mask
    sizes = np.bincount(components.ravel())[1:]
    return components == (int(np.argmax(sizes)) + 1)


def _slice_hulls(mask: np.ndarray) -> np.ndarray:
    """Per axial slice, the filled convex hull of the mask."""
    hulls = np.zeros_like(mask)
    for z in np.nonzero(mask.any(axis=(1, 2)))[0]:
        hulls[z] = convex_hull_image(mask[z])
    return hulls


def _regional_arrays(label_map: LabelMap, ct: sitk.Image, lesion: Lesion):
    """Tumor component, its kidney, and the CT on an axis-aligned LPS grid around them."""
    labels = label_map.image
    tumor_value, kidney_value = label_map.value("tumor"), label_map.value("kidney")
    tumor_components = sitk.ConnectedComponent(labels == tumor_value, True)
    index = labels.TransformPhysicalPointToIndex(lesion.centroid_lps)
    component = tumor_components[index] if _inside(index, labels) else 0
    if component == 0:  # centroid outside a concave lesion: the component nearest to it
        component = _nearest_component(tumor_components, lesion.centroid_lps)
    tumor = tumor_components == component
    kidneys = sitk.RelabelComponent(sitk.ConnectedComponent(labels == kidney_value, True))
    touching = sitk.GetArrayViewFromImage(kidneys)[sitk.GetArrayViewFromImage(sitk.BinaryDilate(tumor, [2] * 3)) > 0]
    touching = touching[touching > 0]
    if touching.size == 0:
        raise InputError("R.E.N.A.L.: the tumor touches no kidney segment; nephrometry needs the kidney label")
    kidney = kidneys == int(np.bincount(touching).argmax())
    region = sitk.Cast(tumor | kidney, sitk.sitkUInt8)
    grid = _axis_aligned_grid(region)
    resample = lambda image, interpolator, default: sitk.GetArrayFromImage(  # noqa: E731
        sitk.Resample(image, grid, sitk.Transform(), interpolator, default)
    )
    tumor_array = resample(sitk.Cast(tumor, sitk.sitkUInt8), sitk.sitkNearestNeighbor, 0) > 0
    kidney_array = resample(sitk.Cast(kidney, sitk.sitkUInt8), sitk.sitkNearestNeighbor, 0) > 0
    hu = resample(sitk.Cast(ct, sitk.sitkFloat32), sitk.sitkLinear, -1024.0)
    spacing = grid.GetSpacing()[::-1]  # numpy axis order (z, y, x)
    return tumor_array, kidney_array & ~tumor_array, hu, spacing


def _axis_aligned_grid(region: sitk.Image) -> sitk.Image:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(region)
    x, y, z, nx, ny, nz = stats.GetBoundingBox(1)
    corners = [
        region.TransformIndexToPhysicalPoint((i, j, k))
        for i in (x, x + nx - 1)
        for j in (y, y + ny - 1)
        for k in (z, z + nz - 1)
    ]
    low = np.min(corners, axis=0) - MARGIN_MM
    high = np.max(corners, axis=0) + MARGIN_MM
    size = np.ceil((high - low) / GRID_MM).astype(int) + 1
    grid = sitk.Image(size.tolist(), sitk.sitkUInt8)
    grid.SetOrigin(low.tolist())
    grid.SetSpacing([GRID_MM] * 3)
    return grid


def _inside(index, image: sitk.Image) -> bool:
    return all(0 <= i < n for i, n in zip(index, image.GetSize()))


def _nearest_component(components: sitk.Image, point) -> int:
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(components)
    labels = list(stats.GetLabels())
    if not labels:
        raise InputError("R.E.N.A.L.: the label map has no tumor")
    distances = [np.linalg.norm(np.subtract(stats.GetCentroid(v), point)) for v in labels]
    return labels[int(np.argmin(distances))]
