"""The 2D network inputs: one axial patch per phase, sampled in physical space.

Patch orientation is the radiological display: rows run anterior -> posterior (+y in LPS) and
columns run patient right -> left (+x in LPS). A patch is therefore an axis-aligned slice of LPS
space, and its geometry maps any pixel back to a physical point (for heat-map overlays).
"""

import dataclasses

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.alignment import PhaseAlignment
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import Preprocessing


@dataclasses.dataclass(frozen=True)
class PatchGeometry:
    center_lps: tuple[float, float, float]  # physical point at the patch center
    pixel_mm: float
    size: int

    @property
    def origin_lps(self) -> np.ndarray:
        """Physical point of pixel [0, 0] (its center)."""
        half = (self.size - 1) / 2 * self.pixel_mm
        return np.asarray(self.center_lps, dtype=float) - np.array([half, half, 0.0])

    def pixel_to_lps(self, row, col) -> np.ndarray:
        """Physical points (..., 3) of (fractional) pixel positions."""
        row, col = np.broadcast_arrays(np.asarray(row, dtype=float), np.asarray(col, dtype=float))
        offset = np.stack([col, row, np.zeros_like(row)], axis=-1) * self.pixel_mm
        return self.origin_lps + offset

    def lps_to_pixel(self, points) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of physical points projected onto the patch plane."""
        offset = (np.asarray(points, dtype=float) - self.origin_lps) / self.pixel_mm
        return offset[..., 1], offset[..., 0]

    def grid(self) -> sitk.Image:
        """An empty image whose voxel grid is the patch (size x size x 1, LPS axes)."""
        image = sitk.Image([self.size, self.size, 1], sitk.sitkFloat32)
        image.SetOrigin(self.origin_lps.tolist())
        image.SetSpacing([self.pixel_mm, self.pixel_mm, self.pixel_mm])
        return image

    def to_image(self, patch: np.ndarray) -> sitk.Image:
        """A patch-space array (e.g. a Grad-CAM map) as an image in the case's physical space."""
        image = sitk.GetImageFromArray(np.asarray(patch, dtype=np.float32)[np.newaxis])
        image.CopyInformation(self.grid())
        return image

    def to_dict(self) -> dict:
        return {
            "center_lps": [round(c, 4) for c in self.center_lps],
            "origin_lps": [round(c, 4) for c in self.origin_lps.tolist()],
            "row_direction_lps": [0.0, 1.0, 0.0],
            "column_direction_lps": [1.0, 0.0, 0.0],
            "pixel_mm": self.pixel_mm,
            "shape": [self.size, self.size],
        }


@dataclasses.dataclass(frozen=True)
class ModelInput:
    patches: dict[Phase, np.ndarray]  # float32 [size, size] in [0, 1]
    geometry: PatchGeometry
    preprocessing: Preprocessing


def make_model_input(
    case: Case,
    alignments: dict[Phase, PhaseAlignment],
    plane_center_lps,
    preprocessing: Preprocessing,
    lesion_diameter_mm: float | None = None,
) -> ModelInput:
    """One patch per phase on the plane through `plane_center_lps`. `lesion_diameter_mm`, the largest
    diameter of the segmented mass at the center (None without one), sizes the field for presets whose
    field follows the lesion."""
    pixel_mm = preprocessing.pixel_mm_for(lesion_diameter_mm)
    geometry = PatchGeometry(tuple(float(c) for c in plane_center_lps), pixel_mm, preprocessing.size)
    grid = geometry.grid()
    patches = {}
    for phase in case.phases:
        sampled = sitk.Resample(
            case.images[phase],
            grid,
            alignments[phase].transform,
            sitk.sitkLinear,
            preprocessing.outside_hu,
            sitk.sitkFloat32,
        )
        patches[phase] = scale_hu(sitk.GetArrayFromImage(sampled)[0], preprocessing.hu_window)
    return ModelInput(patches, geometry, preprocessing)


def scale_hu(hu: np.ndarray, window: tuple[float, float]) -> np.ndarray:
    low, high = window
    return ((np.clip(hu, low, high) - low) / (high - low)).astype(np.float32)
