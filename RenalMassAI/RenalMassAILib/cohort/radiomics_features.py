"""Radiomics features of the 2D tumour region in each phase, with pyradiomics' feature definitions.

pyradiomics itself cannot be installed on this project's machines (its only release for Python 3.11
is a source archive that does not build), so the three classes the paper's radiomics baseline relies
on most are computed here with the same definitions and defaults: first order (binWidth 25 HU for
entropy and uniformity), 2D shape, and GLCM (distance 1, four directions, symmetric, averaged over
directions). The region is the tumour's cross-section on the axial plane of its largest area, sampled
at 1 mm pixels from each phase after alignment.
"""

import numpy as np
import SimpleITK as sitk
from skimage.feature import graycomatrix
from skimage.measure import perimeter, regionprops

from RenalMassAILib.case.phase import PHASE_ORDER
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.prepare import PreparedCase

BIN_WIDTH_HU = 25.0
PIXEL_MM = 1.0
EPS = np.finfo(float).eps


def case_features(prepared: PreparedCase, label_map: LabelMap) -> dict[str, float]:
    """{'<phase>_<class>_<feature>': value} for every phase present (N, A, V order)."""
    lesion = prepared.lesion
    if lesion is None:
        raise ValueError("radiomics needs a segmented tumour")
    grid = _section_grid(lesion.centroid_lps, lesion.max_area_z_lps, lesion.max_diameter_mm)
    mask = sitk.GetArrayFromImage(sitk.Resample(label_map.image, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0))[0]
    mask = mask == label_map.value("tumor")
    if mask.sum() < 4:
        raise ValueError("radiomics: the tumour section holds fewer than 4 pixels")
    features = {}
    for phase in PHASE_ORDER:
        if phase not in prepared.case.images:
            continue
        image = sitk.Resample(prepared.case.images[phase], grid, prepared.alignments[phase].transform,
                              sitk.sitkLinear, -1024.0, sitk.sitkFloat32)
        values = sitk.GetArrayFromImage(image)[0]
        for name, value in region_features(values, mask, PIXEL_MM).items():
            features[f"{phase.value}_{name}"] = value
    return features


def region_features(values: np.ndarray, mask: np.ndarray, pixel_mm: float = 1.0) -> dict[str, float]:
    features = {f"firstorder_{k}": v for k, v in first_order(values[mask], pixel_mm ** 2).items()}
    features.update({f"shape2D_{k}": v for k, v in shape_2d(mask, pixel_mm).items()})
    features.update({f"glcm_{k}": v for k, v in glcm(values, mask).items()})
    return features


def first_order(x: np.ndarray, pixel_area: float) -> dict[str, float]:
    x = np.asarray(x, dtype=float)
    p = _bin_probabilities(x)
    p10, p25, p50, p75, p90 = np.percentile(x, [10, 25, 50, 75, 90])
    robust = x[(x >= p10) & (x <= p90)]
    mean = x.mean()
    m2, m3, m4 = (((x - mean) ** k).mean() for k in (2, 3, 4))
    return {
        "Energy": float((x ** 2).sum()), "TotalEnergy": float((x ** 2).sum() * pixel_area),
        "Entropy": float(-(p * np.log2(p + EPS)).sum()), "Minimum": float(x.min()),
        "10Percentile": float(p10), "90Percentile": float(p90), "Maximum": float(x.max()), "Mean": float(mean),
        "Median": float(p50), "InterquartileRange": float(p75 - p25), "Range": float(x.max() - x.min()),
        "MeanAbsoluteDeviation": float(np.abs(x - mean).mean()),
        "RobustMeanAbsoluteDeviation": float(np.abs(robust - robust.mean()).mean()),
        "RootMeanSquared": float(np.sqrt((x ** 2).mean())), "Variance": float(m2),
        "Skewness": float(m3 / m2 ** 1.5) if m2 > 0 else 0.0, "Kurtosis": float(m4 / m2 ** 2) if m2 > 0 else 0.0,
        "Uniformity": float((p ** 2).sum()),
    }


def shape_2d(mask: np.ndarray, pixel_mm: float) -> dict[str, float]:
    region = regionprops(mask.astype(np.uint8))[0]
    area = float(mask.sum()) * pixel_mm ** 2
    edge = float(perimeter(mask)) * pixel_mm
    major, minor = region.axis_major_length * pixel_mm, region.axis_minor_length * pixel_mm
    return {
        "PixelSurface": area, "Perimeter": edge, "PerimeterSurfaceRatio": edge / area,
        "Sphericity": float(2 * np.sqrt(np.pi * area) / edge) if edge > 0 else 0.0,
        "MaximumDiameter": float(region.feret_diameter_max) * pixel_mm,
        "MajorAxisLength": float(major), "MinorAxisLength": float(minor),
        "Elongation": float(minor / major) if major > 0 else 0.0,
    }


def glcm(values: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Pixels outside the region are level 0 and dropped from the matrix."""
    levels = np.where(mask, _bin_levels(values, values[mask].min()), 0)
    count = int(levels[mask].max())
    image = np.where(mask, levels, 0).astype(np.uint16)
    matrices = graycomatrix(image, [1], [0, np.pi / 4, np.pi / 2, 3 * np.pi / 4], levels=count + 1, symmetric=True)
    per_angle = []
    for a in range(matrices.shape[3]):
        m = matrices[1:, 1:, 0, a].astype(float)
        if m.sum() > 0:
            per_angle.append(_glcm_features(m / m.sum()))
    if not per_angle:
        return {}
    return {name: float(np.mean([f[name] for f in per_angle])) for name in per_angle[0]}


def _glcm_features(p: np.ndarray) -> dict[str, float]:
    i, j = np.indices(p.shape) + 1.0
    px, py = p.sum(axis=1), p.sum(axis=0)
    levels = np.arange(1, p.shape[0] + 1, dtype=float)
    ux, uy = (levels * px).sum(), (levels * py).sum()
    sx, sy = np.sqrt(((levels - ux) ** 2 * px).sum()), np.sqrt(((levels - uy) ** 2 * py).sum())
    diff = np.abs(i - j)
    return {
        "Autocorrelation": float((p * i * j).sum()),
        "ClusterProminence": float((p * (i + j - ux - uy) ** 4).sum()),
        "ClusterShade": float((p * (i + j - ux - uy) ** 3).sum()),
        "Contrast": float((p * diff ** 2).sum()),
        "Correlation": float(((p * i * j).sum() - ux * uy) / (sx * sy)) if sx * sy > 0 else 1.0,
        "DifferenceAverage": float((p * diff).sum()),
        "Id": float((p / (1 + diff)).sum()),
        "Idm": float((p / (1 + diff ** 2)).sum()),
        "JointEnergy": float((p ** 2).sum()),
        "JointEntropy": float(-(p * np.log2(p + EPS)).sum()),
        "MaximumProbability": float(p.max()),
    }


def _bin_levels(values: np.ndarray, minimum: float) -> np.ndarray:
    """pyradiomics' fixed bin width: bin edges on multiples of the width, level 1 holds the minimum."""
    return (np.floor(values / BIN_WIDTH_HU) - np.floor(minimum / BIN_WIDTH_HU)).astype(int) + 1


def _bin_probabilities(x: np.ndarray) -> np.ndarray:
    counts = np.bincount(_bin_levels(x, x.min()))
    counts = counts[counts > 0]
    return counts / counts.sum()


def _section_grid(centroid_lps, z_lps: float, diameter_mm: float) -> sitk.Image:
    half = diameter_mm * 0.75 + 10.0
    size = int(np.ceil(2 * half / PIXEL_MM)) + 1
    grid = sitk.Image([size, size, 1], sitk.sitkUInt8)
    grid.SetOrigin([centroid_lps[0] - half, centroid_lps[1] - half, z_lps])
    grid.SetSpacing([PIXEL_MM] * 3)
    return grid
