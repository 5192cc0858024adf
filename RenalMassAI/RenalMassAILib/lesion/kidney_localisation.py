"""Coarse kidney localisation in about a second: where to segment.

Contrast-enhanced CT: enhancing parenchyma (120-400 HU) on a 4 mm grid, closed and filled, split into
blobs; kidneys are the blobs of kidney size that lie lateral to the midline and in the posterior half
of the body. Where that finds no kidney on a side (unenhanced CT: parenchyma at 10-40 HU, like muscle,
liver and spleen), the kidney fossa is searched instead: unenhanced soft tissue (-40 to 35 HU: below
the liver's, spleen's and psoas' usual values on a 4 mm average) beside the spine (30-140 mm from the
midline, from the vertebrae's posterior elements to 40 mm in front of the vertebral bodies), eroded
by one voxel to cut thin contacts; per side the blob of kidney size with the most fat around it (a
kidney lies in perirenal fat; muscle, bowel and liver border other soft tissue) is kept, unless it
lies at the level of the iliac wings (more than 600 mm2 of bone beside the spine per slice). Without a
plausible kidney the caller segments the whole volume instead (and records it).
"""

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from RenalMassAILib.lesion.lesion import body_midline_x

COARSE_MM = 4.0
ENHANCED_HU = (120.0, 400.0)
KIDNEY_ML = (40.0, 700.0)
LATERAL_MM = (35.0, 150.0)
MARGIN_MM = 20.0
UNENHANCED_HU = (-40.0, 35.0)
FOSSA_LATERAL_MM = (30.0, 140.0)
FOSSA_ANTERIOR_MM = 40.0  # in front of the vertebral bodies
SPINE_HU = 200.0
SPINE_HALF_WIDTH_MM = 30.0
FOSSA_KIDNEY_ML = (20.0, 700.0)  # after the erosion, which takes a third or more of a kidney at 4 mm
FAT_HU = (-200.0, -40.0)
PELVIS_BONE_MM2 = 600.0  # bone beside the spine per slice; measured: ribs <= 430 mm2, iliac wings >= 770 mm2


def locate_kidneys(image: sitk.Image) -> list[tuple[np.ndarray, np.ndarray]]:
    """LPS boxes (center, size in mm; margin included) of up to two kidneys, one per side; [] if none.

    A box follows its blob, so a kidney that touches the spleen or liver gives a larger box, not a
    misplaced one."""
    factors = [max(1, round(COARSE_MM / s)) for s in image.GetSpacing()]
    coarse = sitk.BinShrink(sitk.Cast(image, sitk.sitkFloat32), factors)
    enhanced = sitk.BinaryThreshold(coarse, *ENHANCED_HU, 1, 0)
    # Arterial phase: only the cortex enhances; closing and hole filling give the whole kidney.
    enhanced = sitk.BinaryFillhole(sitk.BinaryMorphologicalClosing(enhanced, [2, 2, 2]))
    blobs = sitk.RelabelComponent(sitk.ConnectedComponent(enhanced), sortByObjectSize=True)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(blobs)
    midline = body_midline_x(image)
    body_y = _body_center_y(coarse)
    best = {}
    for label in stats.GetLabels():
        volume_ml = stats.GetPhysicalSize(label) / 1000.0
        x, y, _z = stats.GetCentroid(label)
        lateral = abs(x - midline)
        if KIDNEY_ML[0] <= volume_ml <= KIDNEY_ML[1] and LATERAL_MM[0] <= lateral <= LATERAL_MM[1] and y > body_y - 10:
            side = "left" if x > midline else "right"
            if side not in best or volume_ml > best[side][0]:
                best[side] = (volume_ml, _box(blobs, stats.GetBoundingBox(label)))
    if len(best) < 2:
        for side, box in _kidneys_in_fossae(coarse, midline).items():
            best.setdefault(side, (0.0, box))
    return [box for _, box in best.values()]


def _kidneys_in_fossae(coarse: sitk.Image, midline: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Unenhanced kidneys: the largest soft-tissue blob in each kidney fossa beside the spine (see the module)."""
    hu = sitk.GetArrayFromImage(coarse)
    x, y = _physical_coordinates(coarse)[:2]
    lateral = np.abs(x - midline)
    spine = (hu > SPINE_HU) & (lateral < SPINE_HALF_WIDTH_MM)
    if spine.sum() < 10:
        return {}
    # LPS y grows posteriorly: the spine's posterior elements have the largest y, the vertebral bodies' front the least.
    anterior, posterior = np.percentile(y[spine], [5, 95])
    fossa = (
        (lateral > FOSSA_LATERAL_MM[0])
        & (lateral < FOSSA_LATERAL_MM[1])
        & (y > anterior - FOSSA_ANTERIOR_MM)
        & (y < posterior)
    )
    tissue = ndimage.binary_erosion((hu > UNENHANCED_HU[0]) & (hu < UNENHANCED_HU[1]) & fossa)
    # Bone beside the spine per slice: ribs at the kidneys' level, the iliac wings' far larger sections in the pelvis.
    spacing = coarse.GetSpacing()
    lateral_bone_mm2 = ((hu > SPINE_HU) & fossa).sum(axis=(1, 2)) * spacing[0] * spacing[1]
    blobs, count = ndimage.label(tissue)
    voxel_ml = float(np.prod(coarse.GetSpacing())) / 1000.0
    sizes = np.bincount(blobs.ravel(), minlength=count + 1)
    fat = (hu > FAT_HU[0]) & (hu < FAT_HU[1])
    best = {}  # side -> (share of fat around the blob, box)
    for label in np.flatnonzero(sizes * voxel_ml >= FOSSA_KIDNEY_ML[0]):
        if label == 0 or sizes[label] * voxel_ml > FOSSA_KIDNEY_ML[1]:
            continue
        indices = np.argwhere(blobs == label)  # k, j, i
        low, high = indices.min(axis=0), indices.max(axis=0) + 1
        if np.median(lateral_bone_mm2[low[0] : high[0]]) > PELVIS_BONE_MM2:
            continue  # at the level of the iliac wings: muscle of the pelvis, not a kidney
        blob = blobs[tuple(slice(a, b) for a, b in zip(np.maximum(low - 2, 0), high + 2))] == label
        window = tuple(slice(a, b) for a, b in zip(np.maximum(low - 2, 0), high + 2))
        shell = ndimage.binary_dilation(blob, iterations=2) & ~blob
        fat_share = float(fat[window][shell].mean())
        side = "left" if x[tuple(indices.T)].mean() > midline else "right"
        if side not in best or fat_share > best[side][0]:
            best[side] = (fat_share, _box(coarse, (*low[::-1], *(high - low)[::-1])))
    return {side: box for side, (_, box) in best.items()}


def _physical_coordinates(image: sitk.Image) -> np.ndarray:
    """LPS x, y, z of every voxel center, as arrays shaped like the image's array (k, j, i)."""
    size = image.GetSize()
    k, j, i = np.indices(size[::-1])
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    offsets = direction @ (np.stack([i, j, k]).reshape(3, -1) * np.asarray(image.GetSpacing())[:, None])
    return (np.asarray(image.GetOrigin())[:, None] + offsets).reshape((3, *size[::-1]))


def _box(image: sitk.Image, bounding_box) -> tuple[np.ndarray, np.ndarray]:
    start, size = np.array(bounding_box[:3]), np.array(bounding_box[3:])
    corners = [
        image.TransformContinuousIndexToPhysicalPoint((start - 0.5 + size * np.array(c)).tolist())
        for c in np.ndindex(2, 2, 2)
    ]
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    return (low + high) / 2, high - low + 2 * MARGIN_MM


def _body_center_y(image: sitk.Image) -> float:
    body = sitk.BinaryThreshold(image, -300.0, 3000.0, 1, 0)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(body)
    return stats.GetCentroid(1)[1] if stats.HasLabel(1) else 0.0
