"""The analysis worker's case folder: what the client writes and the worker reads back.

The client writes each phase as uncompressed NRRD (exact voxels and double-precision geometry),
each alignment transform as HDF5 (exact parameters) and `case.json` (center, lesion, preprocessing,
and the model packages the client's Analyzer chose, so the worker uses the same ones). The worker
rebuilds the same `Analyzer`, so its answers equal the in-process engine's.
"""

import dataclasses
import json
from pathlib import Path

import SimpleITK as sitk

from RenalMassAILib.case.alignment import PhaseAlignment
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.lesion import Lesion

CASE_FILE = "case.json"
SCHEMA = "renalmassai.analysis-case/1"


def write_case_folder(analyzer, folder: Path) -> Path:
    """Writes the analyzer's case (images, alignments, center, lesion, chosen models) into folder."""
    prepared = analyzer.prepared
    case = prepared.case
    for phase in case.phases:
        sitk.WriteImage(case.images[phase], str(folder / f"phase-{phase.value}.nrrd"), useCompression=False)
        sitk.WriteTransform(prepared.alignments[phase].transform, str(folder / f"alignment-{phase.value}.h5"))
    description = {
        "schema": SCHEMA,
        "case_id": case.case_id,
        "phases": [p.value for p in case.phases],
        "sources": {p.value: case.sources.get(p) for p in case.phases},
        "alignment_quality": {p.value: prepared.alignments[p].quality for p in case.phases},
        "center_lps": list(prepared.center_lps),
        "center_source": prepared.center_source,
        "lesion": dataclasses.asdict(prepared.lesion) if prepared.lesion is not None else None,
        "mass_diameter_mm": prepared.mass_diameter_mm,
        "preprocessing": prepared.model_input.preprocessing.to_dict(),
        "segmentation": prepared.segmentation,  # which model drew the label map: its demo mark and warnings
        "runs": [
            {"package": str(package.path), "tasks": list(tasks), "phases_used": list(used)}
            for package, tasks, used in analyzer.runs
        ],
    }
    path = folder / CASE_FILE
    path.write_text(json.dumps(description))
    return path


def read_analyzer(folder: Path):
    """The Analyzer described by a case folder (models loaded here, in the worker)."""
    from RenalMassAILib.classify.model_input import make_model_input
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.prepare import PreparedCase, plane_center

    description = json.loads((folder / CASE_FILE).read_text())
    if description.get("schema") != SCHEMA:
        raise InputError(
            f"analysis case {str(folder / CASE_FILE)!r}: schema {description.get('schema')!r}, expected {SCHEMA}"
        )
    phases = [Phase(p) for p in description["phases"]]
    images = {p: sitk.ReadImage(str(folder / f"phase-{p.value}.nrrd")) for p in phases}
    case = Case(images, {p: description["sources"].get(p.value) for p in phases}, description["case_id"])
    alignments = {
        p: PhaseAlignment(
            p, sitk.ReadTransform(str(folder / f"alignment-{p.value}.h5")), description["alignment_quality"][p.value]
        )
        for p in phases
    }
    lesion = _lesion(description["lesion"])
    center, source = tuple(description["center_lps"]), description["center_source"]
    preprocessing = Preprocessing.from_dict(description["preprocessing"])
    plane = plane_center(preprocessing, center, lesion, source)
    model_input = make_model_input(case, alignments, plane, preprocessing, description.get("mass_diameter_mm"))
    prepared = PreparedCase(
        case,
        [lesion] if lesion else [],
        lesion,
        center,
        source,
        alignments,
        model_input,
        segmentation=description.get("segmentation"),
        mass_diameter_mm=description.get("mass_diameter_mm"),
    )
    runs = description["runs"]
    analyzer = Analyzer(
        prepared,
        {task: run["package"] for run in runs for task in run["tasks"]},
        tuple(task for run in runs for task in run["tasks"]),
    )
    _check_same_runs(analyzer, runs)
    return analyzer


def _lesion(values: dict | None) -> Lesion | None:
    if values is None:
        return None
    return Lesion(**{**values, "centroid_lps": tuple(values["centroid_lps"])})


def _check_same_runs(analyzer, runs: list[dict]) -> None:
    """The worker must use exactly the packages, tasks and phases the client chose."""
    found = sorted((str(package.path), sorted(tasks), list(used)) for package, tasks, used in analyzer.runs)
    wanted = sorted((run["package"], sorted(run["tasks"]), run["phases_used"]) for run in runs)
    if found != wanted:
        raise InputError(f"analysis worker: the models chosen here {found} differ from the client's {wanted}")
