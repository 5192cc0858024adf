"""Checks that catch unusable input early, each with a message naming the input and the problem."""

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.errors import InputError

MIN_SPACING_MM = 0.1
MAX_SPACING_MM = 10.0
MIN_OVERLAP_FRACTION = 0.01
_STATS_VOXELS = 2_000_000  # HU statistics from a regular subsample: fast on 512x512x300 volumes


def check_ct_image(image: sitk.Image, what: str) -> None:
    """3D, sane spacing, finite voxels, values that look like Hounsfield units."""
    if image.GetDimension() != 3 or min(image.GetSize()) < 2:
        raise InputError(f"{what}: expected a 3D volume, got size {image.GetSize()}")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise InputError(
            f"{what}: expected a grey-level CT volume, got {image.GetNumberOfComponentsPerPixel()} components per voxel"
        )
    check_spacing(image, what)
    voxels = sitk.GetArrayViewFromImage(image)
    if voxels.dtype.kind == "f":
        bad = ~np.isfinite(voxels)
        if bad.any():
            raise InputError(f"{what}: {int(bad.sum())} voxel(s) are NaN or infinite")
    sample = _subsample(voxels).astype(np.float32)
    low, median, high = np.percentile(sample, [1, 50, 99])
    if low > -50:
        raise InputError(
            f"{what}: does not look like CT in Hounsfield units (1st percentile {low:.0f}, nothing darker "
            "than fat); is it another modality, or raw stored values without rescale slope/intercept?"
        )
    if median < -1100 or high > 4000:
        raise InputError(
            f"{what}: does not look like CT in Hounsfield units (median {median:.0f}, 99th percentile "
            f"{high:.0f}; expected air near -1000 and bone below 4000)"
        )


def check_spacing(image: sitk.Image, what: str) -> None:
    spacing = image.GetSpacing()
    if any(not MIN_SPACING_MM <= s <= MAX_SPACING_MM for s in spacing):
        raise InputError(
            f"{what}: voxel spacing {tuple(round(s, 4) for s in spacing)} mm is outside "
            f"{MIN_SPACING_MM}-{MAX_SPACING_MM} mm; check the file's header"
        )


def check_overlap(image: sitk.Image, reference: sitk.Image, what: str, reference_what: str) -> None:
    """The two images must share a region of physical space (they are from the same patient position)."""
    low_a, high_a = physical_bounds(image)
    low_b, high_b = physical_bounds(reference)
    shared = np.clip(np.minimum(high_a, high_b) - np.maximum(low_a, low_b), 0, None).prod()
    smaller = min((high_a - low_a).prod(), (high_b - low_b).prod())
    if shared < MIN_OVERLAP_FRACTION * smaller:
        raise InputError(
            f"{what} does not overlap {reference_what} in physical space (its extent "
            f"{_box(low_a, high_a)} mm vs {_box(low_b, high_b)} mm, LPS); is it from another patient or position?"
        )


def check_point_inside(point_lps, image: sitk.Image, what: str, image_what: str) -> None:
    index = np.array(image.TransformPhysicalPointToContinuousIndex([float(c) for c in point_lps]))
    if np.any(index < -0.5) or np.any(index > np.array(image.GetSize()) - 0.5):
        low, high = physical_bounds(image)
        raise InputError(
            f"{what} {tuple(round(float(c), 1) for c in point_lps)} (LPS, mm) lies outside {image_what} "
            f"(extent {_box(low, high)} mm)"
        )


def physical_bounds(image: sitk.Image, edges: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Axis-aligned LPS box around the voxel grid: around the voxels' edges, or their centers."""
    size = np.array(image.GetSize(), dtype=float)
    margin = 0.5 if edges else 0.0
    corners = np.array(np.meshgrid(*[[-margin, n - 1 + margin] for n in size], indexing="ij")).reshape(3, -1).T
    points = np.array([image.TransformContinuousIndexToPhysicalPoint(c.tolist()) for c in corners])
    return points.min(axis=0), points.max(axis=0)


def _subsample(voxels: np.ndarray) -> np.ndarray:
    step = max(1, round((voxels.size / _STATS_VOXELS) ** (1 / 3)))
    return voxels[::step, ::step, ::step]


def _box(low, high) -> str:
    return "[" + ", ".join(f"{a:.0f}..{b:.0f}" for a, b in zip(low, high)) + "]"
