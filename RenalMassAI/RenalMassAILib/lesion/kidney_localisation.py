"""Coarse kidney localisation from contrast-enhanced CT in about a second: where to segment.

Enhancing parenchyma (120-400 HU) on a 4 mm grid, closed and filled, split into blobs; kidneys are the blobs
of kidney size that lie lateral to the midline and in the posterior half of the body. Without a
plausible kidney (or on a non-contrast reference) the caller segments the whole volume instead.
"""

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.lesion.lesion import body_midline_x

COARSE_MM = 4.0
ENHANCED_HU = (120.0, 400.0)
KIDNEY_ML = (40.0, 700.0)
LATERAL_MM = (35.0, 150.0)
MARGIN_MM = 20.0


def locate_kidneys(image: sitk.Image) -> list[tuple[np.ndarray, np.ndarray]]:
    """LPS boxes (centre, size in mm; margin included) of up to two kidneys, one per side; [] if none.

    A box follows its blob, so a kidney that touches the spleen or liver gives a larger box, not a
    misplaced one."""
    factors = [max(1, int(round(COARSE_MM / s))) for s in image.GetSpacing()]
    coarse = sitk.BinShrink(sitk.Cast(image, sitk.sitkFloat32), factors)
    enhanced = sitk.BinaryThreshold(coarse, *ENHANCED_HU, 1, 0)
    # Arterial phase: only the cortex enhances; closing and hole filling give the whole kidney.
    enhanced = sitk.BinaryFillhole(sitk.BinaryMorphologicalClosing(enhanced, [2, 2, 2]))
    blobs = sitk.RelabelComponent(sitk.ConnectedComponent(enhanced), sortByObjectSize=True)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(blobs)
    midline = body_midline_x(image)
    body_y = _body_centre_y(coarse)
    best = {}
    for label in stats.GetLabels():
        volume_ml = stats.GetPhysicalSize(label) / 1000.0
        x, y, z = stats.GetCentroid(label)
        lateral = abs(x - midline)
        if KIDNEY_ML[0] <= volume_ml <= KIDNEY_ML[1] and LATERAL_MM[0] <= lateral <= LATERAL_MM[1] and y > body_y - 10:
            side = "left" if x > midline else "right"
            if side not in best or volume_ml > best[side][0]:
                best[side] = (volume_ml, _box(blobs, stats.GetBoundingBox(label)))
    return [box for _, box in best.values()]


def _box(image: sitk.Image, bounding_box) -> tuple[np.ndarray, np.ndarray]:
    start, size = np.array(bounding_box[:3]), np.array(bounding_box[3:])
    corners = [image.TransformContinuousIndexToPhysicalPoint((start - 0.5 + size * np.array(c)).tolist())
               for c in np.ndindex(2, 2, 2)]
    low, high = np.min(corners, axis=0), np.max(corners, axis=0)
    return (low + high) / 2, high - low + 2 * MARGIN_MM


def _body_centre_y(image: sitk.Image) -> float:
    body = sitk.BinaryThreshold(image, -300.0, 3000.0, 1, 0)
    stats = sitk.LabelShapeStatisticsImageFilter()
    stats.Execute(body)
    return stats.GetCentroid(1)[1] if stats.HasLabel(1) else 0.0
