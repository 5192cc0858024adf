"""Radiomics features of the tumor's axial section in each phase, computed by pyradiomics.

The settings are Resources/Radiomics/section_2d.yaml (the authors' released configuration: 2D, the
unfiltered image, shape2D + firstorder + glcm + glrlm + glszm + gldm + ngtdm, binWidth 4 HU). The
section is the axial plane of the tumor's largest area, sampled at 1 mm pixels from each phase after
alignment, and given to pyradiomics as one 2D image and a 2D binary tumor mask per phase.

pyradiomics is installed by scripts/install.sh (it needs `--no-build-isolation`, so it is not in
pyproject's dependencies) and imported only when features are extracted.
"""

import functools
import hashlib
import json

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.phase import PHASE_ORDER
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.prepare import PreparedCase
from RenalMassAILib.resources import resources_dir

PYRADIOMICS_VERSION = "3.0.1"  # the version pinned in scripts/install.sh
SETTINGS_NAME = "Radiomics/section_2d.yaml"
PIXEL_MM = 1.0
MINIMUM_PIXELS = 4


def settings_path():
    return resources_dir() / SETTINGS_NAME


@functools.lru_cache(maxsize=1)
def section_extractor():
    """pyradiomics' RadiomicsFeatureExtractor configured by the settings file (built once)."""
    try:
        import radiomics
        from radiomics import featureextractor
    except ImportError as error:
        raise InputError(
            "radiomics needs pyradiomics: install it with `pip install --no-build-isolation "
            f"pyradiomics=={PYRADIOMICS_VERSION}` (scripts/install.sh does)"
        ) from error
    # pyradiomics reports each extraction's settings at INFO level; keep its warnings and errors only.
    radiomics.setVerbosity(30)
    return featureextractor.RadiomicsFeatureExtractor(str(settings_path()))


def extractor_record() -> dict:
    """What a radiomics model package must match: pyradiomics version, settings file and the
    settings, image types and feature classes pyradiomics read from it."""
    extractor = section_extractor()  # first: it refuses a missing pyradiomics with InputError
    import radiomics

    record = {
        "pyradiomics": radiomics.__version__,
        "settings_file": SETTINGS_NAME,
        "settings_sha256": hashlib.sha256(settings_path().read_bytes()).hexdigest(),
        "settings": extractor.settings,
        "image_types": extractor.enabledImagetypes,
        "feature_classes": extractor.enabledFeatures,
        "section": "axial, largest tumor area, 2D",
        "pixel_mm": PIXEL_MM,
    }
    return json.loads(json.dumps(record))  # plain JSON types, as a package's model.json holds them


def case_features(prepared: PreparedCase, label_map: LabelMap) -> dict[str, float]:
    """{'<phase>_original_<class>_<feature>': value} for every phase present (N, A, V order)."""
    features = {}
    for phase, (image, mask) in section_images(prepared, label_map).items():
        for name, value in section_features(image, mask, phase.value).items():
            features[f"{phase.value}_{name}"] = value
    return features


def section_images(prepared: PreparedCase, label_map: LabelMap) -> dict:
    """{phase: (2D float32 HU image, 2D uint8 tumor mask)} on the tumor's largest axial section."""
    lesion = prepared.lesion
    if lesion is None:
        raise ValueError("radiomics needs a segmented tumor")
    grid = _section_grid(lesion.centroid_lps, lesion.max_area_z_lps, lesion.max_diameter_mm)
    labels = sitk.Resample(label_map.image, grid, sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    mask = sitk.Cast(labels[:, :, 0] == label_map.value("tumor"), sitk.sitkUInt8)
    if int(sitk.GetArrayViewFromImage(mask).sum()) < MINIMUM_PIXELS:
        raise ValueError(f"radiomics: the tumor section holds fewer than {MINIMUM_PIXELS} pixels")
    sections = {}
    for phase in PHASE_ORDER:
        if phase not in prepared.case.images:
            continue
        image = sitk.Resample(
            prepared.case.images[phase],
            grid,
            prepared.alignments[phase].transform,
            sitk.sitkLinear,
            -1024.0,
            sitk.sitkFloat32,
        )
        sections[phase] = (image[:, :, 0], mask)
    return sections


def section_features(image: sitk.Image, mask: sitk.Image, phase_name: str = "") -> dict[str, float]:
    """pyradiomics' features of one section, without its diagnostics_* entries."""
    try:
        result = section_extractor().execute(image, mask)
    except (ValueError, RuntimeError) as error:  # pyradiomics refuses masks it cannot analyze with ValueError
        raise ValueError(f"radiomics of phase {phase_name}: pyradiomics: {error}") from error
    return {name: float(value) for name, value in result.items() if not name.startswith("diagnostics_")}


def _section_grid(centroid_lps, z_lps: float, diameter_mm: float) -> sitk.Image:
    half = diameter_mm * 0.75 + 10.0
    size = int(np.ceil(2 * half / PIXEL_MM)) + 1
    grid = sitk.Image([size, size, 1], sitk.sitkUInt8)
    grid.SetOrigin([centroid_lps[0] - half, centroid_lps[1] - half, z_lps])
    grid.SetSpacing([PIXEL_MM] * 3)
    return grid
