"""An `Analysis` across the process boundary: a JSON message plus one .npy file per array.

The worker writes the arrays (model-input patches, Grad-CAM maps) into a folder of its own per
answer; the client reads them back into the same `Analysis` value the engine returns in-process
and removes the folder.
"""

import shutil
from pathlib import Path

import numpy as np

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.model_input import ModelInput, PatchGeometry
from RenalMassAILib.classify.prediction import TaskPrediction
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.pipeline import Analysis


def write_analysis(analysis: Analysis, folder: Path) -> dict:
    """Saves the arrays under folder; returns the JSON-ready description that names them."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = {}
    for name, model_input in analysis.model_inputs.items():
        patches = {}
        for phase, patch in model_input.patches.items():
            patches[phase.value] = _save(folder / f"input-{name}-{phase.value}.npy", patch)
        geometry = model_input.geometry
        inputs[name] = {
            "patches": patches,
            "preprocessing": model_input.preprocessing.to_dict(),
            "geometry": {"center_lps": list(geometry.center_lps), "pixel_mm": geometry.pixel_mm, "size": geometry.size},
        }
    explanations = {
        task: {phase: _save(folder / f"gradcam-{task}-{phase}.npy", heat) for phase, heat in maps.items()}
        for task, maps in analysis.explanations.items()
    }
    predictions = {
        task: {
            "probability": p.probability,
            "phases_used": list(p.phases_used),
            "model_id": p.model_id,
            "model_version": p.model_version,
            "demo": p.demo,
        }
        for task, p in analysis.predictions.items()
    }
    return {
        "folder": str(folder),
        "center_lps": list(analysis.center_lps),
        "center_source": analysis.center_source,
        "model_inputs": inputs,
        "predictions": predictions,
        "explanations": explanations,
        "inputs_of_task": dict(analysis.inputs_of_task),
        "segmentation_demo": analysis.segmentation_demo,
        "warnings": list(analysis.warnings),
    }


def _save(path: Path, array: np.ndarray) -> str:
    np.save(path, np.ascontiguousarray(array))
    return path.name


def read_analysis(description: dict) -> Analysis:
    """The Analysis a worker described; its array folder is removed once read."""
    folder = Path(description["folder"])
    try:
        inputs = {name: _model_input(values, folder) for name, values in description["model_inputs"].items()}
        explanations = {
            task: {phase: np.load(folder / file) for phase, file in maps.items()}
            for task, maps in description["explanations"].items()
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    predictions = {
        task: TaskPrediction(
            task, float(p["probability"]), tuple(p["phases_used"]), p["model_id"], p["model_version"], bool(p["demo"])
        )
        for task, p in description["predictions"].items()
    }
    return Analysis(
        tuple(float(c) for c in description["center_lps"]),
        description["center_source"],
        inputs,
        predictions,
        explanations,
        dict(description["inputs_of_task"]),
        bool(description.get("segmentation_demo")),
        tuple(description.get("warnings", ())),
    )


def _model_input(values: dict, folder: Path) -> ModelInput:
    geometry = values["geometry"]
    return ModelInput(
        {Phase(p): np.load(folder / file) for p, file in values["patches"].items()},
        PatchGeometry(
            tuple(float(c) for c in geometry["center_lps"]), float(geometry["pixel_mm"]), int(geometry["size"])
        ),
        Preprocessing.from_dict(values["preprocessing"]),
    )
