"""report.json and the files beside it: Grad-CAM maps (patch and patient space), optional inputs."""

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.nephrometry import nephrometry
from RenalMassAILib.pipeline import Analysis
from RenalMassAILib.prepare import PreparedCase, prepare_summary
from RenalMassAILib.present.gradcam_panel import write_gradcam_panel

SCHEMA = "renalmassai.report/1"
DEMO_BANNER = "DEMO MODEL - NOT FOR CLINICAL USE"
RESEARCH_BANNER = "Research use only - not for clinical decisions"


def write_report(
    prepared: PreparedCase,
    analysis: Analysis,
    out_dir,
    label_map=None,
    save_inputs: bool = False,
    seconds: float | None = None,
    screenshots: dict[str, str] | None = None,
) -> Path:
    out = Path(out_dir)
    (out / "explanations").mkdir(parents=True, exist_ok=True)
    explanations = {}
    for task, maps in analysis.explanations.items():
        geometry = analysis.model_inputs[analysis.inputs_of_task[task]].geometry
        explanations[task] = {}
        for phase, heat in maps.items():
            stem = f"explanations/gradcam_{task}_{phase}"
            np.save(out / f"{stem}.npy", heat)
            sitk.WriteImage(geometry.to_image(heat), str(out / f"{stem}.nii.gz"), useCompression=True)
            explanations[task][phase] = {"patch": f"{stem}.npy", "image": f"{stem}.nii.gz"}
    inputs = {}
    for name, model_input in analysis.model_inputs.items():
        inputs[name] = {
            "preprocessing": model_input.preprocessing.to_dict(),
            "geometry": model_input.geometry.to_dict(),
            "gradcam_panel": _write_panel(analysis, name, out),
        }
        if save_inputs:
            (out / "inputs" / name).mkdir(parents=True, exist_ok=True)
            inputs[name]["files"] = {}
            for phase, patch in model_input.patches.items():
                np.save(out / "inputs" / name / f"{phase.value}.npy", patch)
                inputs[name]["files"][phase.value] = f"inputs/{name}/{phase.value}.npy"
    if label_map is not None:
        sitk.WriteImage(label_map.image, str(out / "segmentation.nii.gz"), useCompression=True)
    report = report_summary(prepared, analysis, explanations, inputs, seconds)
    if label_map is not None and prepared.lesion is not None:
        report["nephrometry"] = nephrometry_summary(prepared, label_map)
    if screenshots:
        report["screenshots"] = screenshots
    path = out / "report.json"
    path.write_text(json.dumps(report, indent=2))
    return path


def nephrometry_summary(prepared: PreparedCase, label_map) -> dict:
    """R.E.N.A.L. of the analyzed tumor on the reference phase (or why it could not be scored)."""
    try:
        return nephrometry(label_map, prepared.case.reference, prepared.lesion).summary()
    except InputError as error:
        return {"error": str(error)}


def _write_panel(analysis: Analysis, name: str, out: Path) -> str:
    """The inputs of one preset with the Grad-CAM of the tasks that used them (a row per task)."""
    patches = {phase.value: patch for phase, patch in analysis.model_inputs[name].patches.items()}
    maps = {task: m for task, m in analysis.explanations.items() if analysis.inputs_of_task[task] == name}
    write_gradcam_panel(patches, maps, out / f"gradcam_{name}.png")
    return f"gradcam_{name}.png"


def report_summary(
    prepared: PreparedCase, analysis: Analysis, explanations: dict, inputs: dict, seconds: float | None
) -> dict:
    summary = prepare_summary(prepared, {}, seconds)
    for key in ("schema", "preprocessing", "geometry", "inputs"):
        summary.pop(key)
    summary["lesion"]["center_lps"] = [round(c, 3) for c in analysis.center_lps]
    summary["lesion"]["center_source"] = analysis.center_source
    if prepared.segmentation is not None:
        summary["segmentation"] = prepared.segmentation
    return {
        "schema": SCHEMA,
        "notice": DEMO_BANNER if analysis.demo else RESEARCH_BANNER,  # DEMO: a demo classifier or segmentation model
        "demo": analysis.demo,
        "warnings": list(analysis.warnings),
        **summary,
        "predictions": {task: p.summary() for task, p in analysis.predictions.items()},
        "explanations": explanations,
        "inputs": inputs,
    }
