"""Bringing every phase into the reference phase's physical frame.

Two behaviours: 'world' (the authors' code: the same physical point in every phase, no
registration) and 'rigid' (SimpleITK rigid registration, per-phase quality figure). Either way the
result is a transform per phase that maps reference points to that phase's points, so sampling
(full grid, VOI or 2D model input) happens once, in physical space, from the original voxels.
"""

import dataclasses

import SimpleITK as sitk

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.registration import AIR_HU, register_rigid

ALIGNMENT_METHODS = ("world", "rigid")
# The paper's volume of interest around the mass: 14 x 14 x 16 cm.
VOI_MM = (140.0, 140.0, 160.0)


@dataclasses.dataclass(frozen=True)
class PhaseAlignment:
    phase: Phase
    transform: sitk.Transform  # reference physical point -> this phase's physical point
    quality: dict  # method and, for 'rigid', the figures of RegistrationResult.summary()


def align_phases(case: Case, method: str = "world", center_lps=None) -> dict[Phase, PhaseAlignment]:
    if method not in ALIGNMENT_METHODS:
        raise ValueError(f"alignment method {method!r}: use one of {ALIGNMENT_METHODS}")
    alignments = {}
    for phase in case.phases:
        if phase == case.reference_phase or method == "world":
            alignments[phase] = PhaseAlignment(phase, sitk.Euler3DTransform(), {"method": "world"})
            continue
        region = VOI_MM if center_lps is not None else None
        result = register_rigid(case.reference, case.images[phase], center_lps=center_lps, region_mm=region)
        alignments[phase] = PhaseAlignment(phase, result.transform, result.summary())
    return alignments


def resample_onto_reference(case: Case, alignments: dict[Phase, PhaseAlignment]) -> dict[Phase, sitk.Image]:
    """Every phase on the reference grid (float32 HU, air outside a phase's field of view)."""
    return {
        phase: sitk.Resample(case.images[phase], case.reference, alignments[phase].transform,
                             sitk.sitkLinear, AIR_HU, sitk.sitkFloat32)
        for phase in case.phases
    }
