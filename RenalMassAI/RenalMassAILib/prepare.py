"""Steps 1-5 for one case: read, validate, align, find the lesion, make the model inputs."""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from RenalMassAILib import __version__
from RenalMassAILib.case.alignment import PhaseAlignment, align_phases
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.phase_detection import PhaseAssignment
from RenalMassAILib.case.validation import check_point_inside
from RenalMassAILib.classify.model_input import ModelInput, make_model_input
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.lesion.lesion import Lesion, body_midline_x, find_lesions, lesion_at

SCHEMA = "renalmassai.prepare/1"


@dataclasses.dataclass(frozen=True)
class PreparedCase:
    case: Case
    lesions: list[Lesion]
    lesion: Lesion | None  # the analyzed component (None when only a center was given)
    center_lps: tuple[float, float, float]
    center_source: str  # 'segmentation' or 'user'
    alignments: dict[Phase, PhaseAlignment]
    model_input: ModelInput
    phase_assignment: PhaseAssignment | None = None
    segmentation_labels: dict | None = None  # how the label map's values were read (LabelMap.record)
    segmentation: dict | None = None  # segmentation.json's record when a model drew the label map
    mass_diameter_mm: float | None = None  # the mass at the center, tumor or cyst (see mass_diameter)


def prepare_case(
    case: Case,
    preprocessing: Preprocessing,
    label_map: LabelMap | None = None,
    center_lps=None,
    alignment: str = "world",
    phase_assignment: PhaseAssignment | None = None,
    segmentation: dict | None = None,
) -> PreparedCase:
    """segmentation: the record of the model that drew label_map (lesion.segmentation_record), kept for the
    report; label_map must already lie on the reference grid in the reference's frame (as segment gives it)."""
    if label_map is None and center_lps is None:
        raise InputError("give a segmentation (--segmentation) or a tumor center (--center-lps X Y Z)")
    lesions = find_lesions(label_map, body_midline_x(case.reference)) if label_map is not None else []
    if center_lps is not None:
        center_lps = tuple(float(c) for c in center_lps)
        check_point_inside(center_lps, case.reference, "tumor center", case.describe(case.reference_phase))
        lesion = lesion_at(lesions, center_lps, label_map) if lesions else None
        source = "user"
    elif not lesions:
        raise InputError(
            f"segmentation has no tumor voxels (label {label_map.value('tumor')}) and no tumor "
            "center was given (--center-lps X Y Z)"
        )
    else:
        lesion, source = lesions[0], "segmentation"
        center_lps = lesion.centroid_lps
    # The registration's region is about the lesion when there is one, not about the reader's point: a
    # centre moved within the mass leaves the alignment as it was, so the live refresh (which keeps the
    # alignment made at the start) and an export at the moved centre read the very same inputs.
    alignments = align_phases(case, alignment, lesion.centroid_lps if lesion is not None else center_lps)
    diameter = mass_diameter(lesion, label_map, center_lps, case.reference)
    model_input = make_model_input(
        case, alignments, plane_center(preprocessing, center_lps, lesion, source), preprocessing, diameter
    )
    return PreparedCase(
        case,
        lesions,
        lesion,
        center_lps,
        source,
        alignments,
        model_input,
        phase_assignment,
        label_map.record if label_map is not None else None,
        segmentation,
        diameter,
    )


def mass_diameter(lesion: Lesion | None, label_map: LabelMap | None, center_lps, reference) -> float | None:
    """Largest diameter of the mass at the center, for presets whose field of view follows it: its tumor
    component, else its cyst component (KiTS labels Bosniak 1-2F cysts 'cyst'); None without either."""
    if lesion is not None:
        return lesion.max_diameter_mm
    if label_map is None or "cyst" not in label_map.labels:
        return None
    cysts = find_lesions(label_map, body_midline_x(reference), label="cyst")
    cyst = lesion_at(cysts, center_lps, label_map, label="cyst")
    return cyst.max_diameter_mm if cyst is not None else None


def plane_center(preprocessing: Preprocessing, center_lps, lesion: Lesion | None, source: str):
    """'max-area' moves the plane to the largest section, unless the user placed the center by hand
    (a hand-placed center is put on the largest section, as the paper's readers did)."""
    if preprocessing.slice_choice == "max-area" and lesion is not None and source == "segmentation":
        return (center_lps[0], center_lps[1], lesion.max_area_z_lps)
    return center_lps


def write_prepared(prepared: PreparedCase, out_dir: str | os.PathLike, seconds: float | None = None) -> Path:
    out = Path(out_dir)
    (out / "inputs").mkdir(parents=True, exist_ok=True)
    inputs = {}
    for phase, patch in prepared.model_input.patches.items():
        np.save(out / "inputs" / f"{phase.value}.npy", patch)
        inputs[phase.value] = {"path": f"inputs/{phase.value}.npy", "shape": list(patch.shape), "dtype": "float32"}
    path = out / "prepare.json"
    path.write_text(json.dumps(prepare_summary(prepared, inputs, seconds), indent=2))
    return path


def prepare_summary(prepared: PreparedCase, inputs: dict, seconds: float | None = None) -> dict:
    case = prepared.case
    lesion = prepared.lesion.summary() if prepared.lesion else {}
    summary = {
        "schema": SCHEMA,
        "software": {"name": "RenalMassAI", "version": __version__},
        "case_id": case.case_id,
        "phases_present": [p.value for p in case.phases],
        "reference_phase": case.reference_phase.value,
        "sources": {p.value: case.sources.get(p) for p in case.phases},
        "input_notes": {p.value: list(case.notes.get(p, ())) for p in case.phases},
        "skipped_series": list(case.skipped_series),
        "alignment": {p.value: a.quality for p, a in prepared.alignments.items()},
        "lesion": {
            "center_lps": [round(c, 3) for c in prepared.center_lps],
            "center_source": prepared.center_source,
            "volume_ml": lesion.get("volume_ml"),
            "max_diameter_mm": lesion.get("max_diameter_mm"),
            **{k: v for k, v in lesion.items() if k not in ("volume_ml", "max_diameter_mm")},
            "tumor_components": len(prepared.lesions),
        },
        "preprocessing": prepared.model_input.preprocessing.to_dict(),
        "geometry": prepared.model_input.geometry.to_dict(),
        "inputs": inputs,
    }
    if prepared.segmentation_labels:
        summary["segmentation_labels"] = prepared.segmentation_labels
    if prepared.phase_assignment:
        summary["phase_detection"] = {p.value: r for p, r in prepared.phase_assignment.reasons.items()}
        summary["ignored_series"] = [f"{s.label()}: {why}" for s, why in prepared.phase_assignment.ignored]
    if seconds is not None:
        summary["seconds"] = round(seconds, 3)
    return summary
