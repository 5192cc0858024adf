"""Bringing every phase into the reference phase's physical frame.

Two behaviours: 'world' (the authors' code: the same physical point in every phase, no
registration) and 'rigid' (SimpleITK rigid registration, per-phase quality figure). Either way the
result is a transform per phase that maps reference points to that phase's points, so sampling
(full grid, VOI or 2D model input) happens once, in physical space, from the original voxels.

Quality gate: a registration is kept only when it raises the body-voxel correlation with the
reference; otherwise, and when the registration fails, the identity (the same world point) is kept.
Both figures, which one was kept (`kept`: 'registration' or 'identity') and a failure's message
(`error`) are recorded in the phase's quality record (prepare.json's `alignment.<phase>`).
"""

import dataclasses
import math

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
    quality: dict  # method and, for 'rigid', the figures of RegistrationResult.summary() and what was kept


def align_phases(case: Case, method: str = "world", center_lps=None) -> dict[Phase, PhaseAlignment]:
    if method not in ALIGNMENT_METHODS:
        raise ValueError(f"alignment method {method!r}: use one of {ALIGNMENT_METHODS}")
    alignments = {}
    for phase in case.phases:
        if phase == case.reference_phase or method == "world":
            alignments[phase] = PhaseAlignment(phase, sitk.Euler3DTransform(), {"method": "world"})
            continue
        region = VOI_MM if center_lps is not None else None
        alignments[phase] = registered_alignment(case, phase, center_lps, region)
    return alignments


def registered_alignment(case: Case, phase: Phase, center_lps=None, region_mm=None) -> PhaseAlignment:
    """The phase rigidly registered onto the reference, behind the quality gate (see the module)."""
    try:
        result = register_rigid(case.reference, case.images[phase], center_lps=center_lps, region_mm=region_mm)
    except (RuntimeError, ValueError) as error:  # SimpleITK raises RuntimeError (e.g. too few samples)
        message = " ".join(str(error).split())[:300]
        quality = {
            "method": "rigid",
            "kept": "identity",
            "correlation_before": None,
            "correlation_after": None,
            "error": f"rigid registration of the {phase.long_name} phase failed, the same world point was "
            f"kept: {message}",
        }
        return PhaseAlignment(phase, sitk.Euler3DTransform(), quality)
    improved = math.isfinite(result.correlation_after) and not result.correlation_after <= result.correlation_before
    quality = result.summary() | {"kept": "registration" if improved else "identity"}
    return PhaseAlignment(phase, result.transform if improved else sitk.Euler3DTransform(), quality)


def resample_onto_reference(case: Case, alignments: dict[Phase, PhaseAlignment]) -> dict[Phase, sitk.Image]:
    """Every phase on the reference grid (float32 HU, air outside a phase's field of view)."""
    return {
        phase: sitk.Resample(
            case.images[phase], case.reference, alignments[phase].transform, sitk.sitkLinear, AIR_HU, sitk.sitkFloat32
        )
        for phase in case.phases
    }
