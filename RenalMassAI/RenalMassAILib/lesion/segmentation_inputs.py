"""What a segmentation model reads, in the reference phase's frame.

A model reads the phases its channel names give (one-channel models without a phase name read the
reference phase). A phase other than the reference is rigidly registered onto the reference first
(behind the quality gate of case.alignment) and resampled onto the reference grid through that
transform, so the label map the model draws lies on the reference grid and in the reference's
anatomy: the lesion center is right whatever `--register` says (that option only decides how the
classifier's inputs are sampled). Without this, a label map drawn on a misregistered venous phase
would be read as if it were drawn on the arterial phase.

Registration region: the 14 x 14 x 16 cm VOI around a given center; without one the box that holds
the kidneys found on the reference (plus margin); without those the whole volume.
"""

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.alignment import VOI_MM, PhaseAlignment, registered_alignment
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.registration import AIR_HU
from RenalMassAILib.lesion.kidney_localisation import locate_kidneys
from RenalMassAILib.lesion.nnunet_model import SegmentationModel


def align_for_segmentation(case: Case, model: SegmentationModel, center_lps=None) -> dict[Phase, PhaseAlignment]:
    """An alignment for each phase the model reads that is not the reference phase."""
    reference = case.reference_phase
    moving = [p for p in dict.fromkeys(model.channel_phases(reference)) if p != reference]
    if not moving:
        return {}
    center, region = _registration_region(case, center_lps)
    return {phase: registered_alignment(case, phase, center, region) for phase in moving}


def _registration_region(case: Case, center_lps):
    """(center, size in mm) of the box to register, or (None, None) for the whole volume."""
    if center_lps is not None:
        return tuple(float(c) for c in center_lps), VOI_MM
    kidneys = locate_kidneys(case.reference)
    if not kidneys:
        return None, None
    low = np.min([c - s / 2 for c, s in kidneys], axis=0)
    high = np.max([c + s / 2 for c, s in kidneys], axis=0)
    return tuple((low + high) / 2), tuple(high - low)


def model_images(
    case: Case, model: SegmentationModel, alignments: dict[Phase, PhaseAlignment], paths: dict[Phase, str] | None = None
) -> dict[str, object]:
    """Phase letter -> what the segmentation worker reads: the reference phase as given (its path when
    known), every other phase resampled onto the reference grid through its alignment."""
    paths = paths or {}
    images = {}
    for phase in dict.fromkeys(model.channel_phases(case.reference_phase)):
        if phase == case.reference_phase:
            images[phase.value] = paths.get(phase) or case.images[phase]
        else:
            images[phase.value] = sitk.Resample(
                case.images[phase],
                case.reference,
                alignments[phase].transform,
                sitk.sitkLinear,
                AIR_HU,
                sitk.sitkFloat32,
            )
    return images
