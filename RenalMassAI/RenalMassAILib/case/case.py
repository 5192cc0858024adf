"""The Case: the CT phases of one patient examination, in HU, with where they came from."""

import dataclasses
from collections.abc import Mapping

import SimpleITK as sitk

from RenalMassAILib.case.phase import PHASE_ORDER, REFERENCE_ORDER, Phase


@dataclasses.dataclass(frozen=True)
class Case:
    images: Mapping[Phase, sitk.Image]
    sources: Mapping[Phase, str] = dataclasses.field(default_factory=dict)
    case_id: str = "case"
    # What reading corrected per phase (regridded slices, de-duplicated files, lossy pixels, series
    # skipped in the phase's folder), and series of --auto folders that were not CT volumes.
    notes: Mapping[Phase, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    skipped_series: tuple[str, ...] = ()

    def __post_init__(self):
        if not self.images:
            raise ValueError("a Case needs at least one phase image")

    @property
    def phases(self) -> tuple[Phase, ...]:
        return tuple(p for p in PHASE_ORDER if p in self.images)

    @property
    def reference_phase(self) -> Phase:
        return next(p for p in REFERENCE_ORDER if p in self.images)

    @property
    def reference(self) -> sitk.Image:
        return self.images[self.reference_phase]

    def describe(self, phase: Phase) -> str:
        """'arterial image /path/a.nii.gz' for error messages."""
        source = self.sources.get(phase)
        return f"{phase.long_name} image {source!r}" if source else f"{phase.long_name} image"
