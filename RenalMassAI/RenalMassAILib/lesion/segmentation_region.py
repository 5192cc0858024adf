"""Where the fast path segments: boxes of voxels on the reference grid, never smaller than one network
patch, grown once when the segmentation reaches their border.

A box around a kidney found without a point is filled to whole patches (filled): it costs the same passes,
and they see more anatomy. One patch centered on the mass costs one sliding-window step and puts the mass
in the middle of the patch, away from tile seams and from padding (both made the fast path disagree with
nnU-Net's whole-volume path). When the kidney or mass reaches a face of the box, the box grows by half a
patch on that side, is filled to whole patches and is segmented again, so a large mass is not cut off:
once, to no more than two patches along an axis (KiTS plans: 20 x 20 x 26 cm), which bounds the cost
even when a model labels far too much. Whether to grow is decided on one pass per tile without mirrors;
the box that is kept then gets the mirroring budget (one patch: 8 passes when it stays, its probe being
the unmirrored one; 1 + 8 when it grows to eight tiles without mirrors).
"""

import dataclasses

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

MAX_GROWTH_ROUNDS = 1
MAX_PATCHES_PER_AXIS = 2


@dataclasses.dataclass(frozen=True)
class Region:
    low: tuple[int, int, int]  # first voxel (i, j, k)
    high: tuple[int, int, int]  # one past the last voxel

    @property
    def size(self) -> tuple[int, ...]:
        return tuple(h - lo for lo, h in zip(self.low, self.high))

    def crop(self, image: sitk.Image) -> sitk.Image:
        return sitk.RegionOfInterest(image, list(self.size), list(self.low))

    def array_slices(self) -> tuple[slice, slice, slice]:
        """The region in an array of the image (k, j, i order, as SimpleITK gives it)."""
        return tuple(slice(lo, h) for lo, h in zip(self.low[::-1], self.high[::-1]))


def patch_voxels(reference: sitk.Image, patch_mm) -> np.ndarray:
    """Voxels of the reference grid that resample to at most one patch (nnU-Net rounds the new shape)."""
    return np.maximum(1, np.floor(np.asarray(patch_mm) / np.asarray(reference.GetSpacing()) + 1e-6)).astype(int)


def region_around(reference: sitk.Image, center_lps, size_voxels) -> Region:
    """A box of size_voxels centered on center_lps, shifted (not shrunk) to lie inside the image where it can."""
    image_size = np.asarray(reference.GetSize())
    size = np.minimum(np.asarray(size_voxels, dtype=int), image_size)
    center = np.asarray(reference.TransformPhysicalPointToContinuousIndex([float(v) for v in center_lps]))
    low = np.clip(np.round(center - size / 2).astype(int), 0, image_size - size)
    return Region(tuple(int(v) for v in low), tuple(int(v) for v in low + size))


def size_in_voxels(reference: sitk.Image, size_lps_mm) -> np.ndarray:
    """An LPS box size (mm) as voxels along the image's own axes (exact for axis-aligned directions)."""
    direction = np.abs(np.asarray(reference.GetDirection()).reshape(3, 3))
    along_axes_mm = direction.T @ np.asarray(size_lps_mm, dtype=float)
    return np.ceil(along_axes_mm / np.asarray(reference.GetSpacing())).astype(int)


def filled(region: Region, patch_voxels, image_size) -> Region:
    """The region enlarged to a whole number of patches along each axis, evenly on both sides and shifted
    to lie inside the image (never beyond it). The sliding window at step 1.0 spends as many passes on a
    box of 1.3 patches as on one of 2; filled, those passes see anatomy instead of the same voxels twice."""
    size = np.asarray(region.size)
    patch = np.asarray(patch_voxels, dtype=int)
    target = np.minimum(np.ceil(size / patch).astype(int) * patch, np.asarray(image_size))
    target = np.maximum(target, size)
    low = np.asarray(region.low) - (target - size) // 2
    low = np.clip(low, 0, np.asarray(image_size) - target)
    return Region(tuple(int(v) for v in low), tuple(int(v) for v in low + target))


def grown(region: Region, labels: np.ndarray, step_voxels, image_size, largest_voxels) -> Region | None:
    """The region grown by step_voxels on each face that the largest labelled body touches, to at most
    largest_voxels along an axis (faces on the image's border cannot grow); None when nothing can grow.

    labels: the region's label array (k, j, i), as SimpleITK gives it."""
    components, count = ndimage.label(labels > 0)
    if count == 0:
        return None
    largest = components == 1 + int(np.argmax(np.bincount(components.ravel())[1:]))
    low, high = np.array(region.low), np.array(region.high)
    new_low, new_high = low.copy(), high.copy()
    for axis in range(3):
        along = largest.any(axis=tuple(a for a in range(3) if a != 2 - axis))  # per index along axis i/j/k
        room = max(0, largest_voxels[axis] - (high[axis] - low[axis]))
        if along[0] and low[axis] > 0:
            new_low[axis] = max(0, low[axis] - min(step_voxels[axis], room))
            room -= low[axis] - new_low[axis]
        if along[-1] and high[axis] < image_size[axis]:
            new_high[axis] = min(image_size[axis], high[axis] + min(step_voxels[axis], room))
    if np.array_equal(new_low, low) and np.array_equal(new_high, high):
        return None
    return Region(tuple(int(v) for v in new_low), tuple(int(v) for v in new_high))
