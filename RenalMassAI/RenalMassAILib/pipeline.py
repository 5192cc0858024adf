"""One case end to end: prepare, choose models, predict both tasks, explain with Grad-CAM.

`Analyzer` keeps what does not change when the radiologist moves the tumor center (images,
alignment, lesion, loaded models), so `run(center)` only re-samples the inputs and runs the networks.
"""

import dataclasses

import numpy as np

from RenalMassAILib.classify.model_input import ModelInput, make_model_input
from RenalMassAILib.classify.model_package import TASKS, ModelPackage
from RenalMassAILib.classify.model_registry import choose
from RenalMassAILib.classify.prediction import TaskPrediction, predict_and_explain
from RenalMassAILib.prepare import PreparedCase, plane_center


@dataclasses.dataclass(frozen=True)
class Analysis:
    center_lps: tuple[float, float, float]
    center_source: str
    model_inputs: dict[str, ModelInput]  # by preprocessing name
    predictions: dict[str, TaskPrediction]  # by task
    explanations: dict[str, dict[str, np.ndarray]]  # task -> phase -> Grad-CAM [H, W] in [0, 1]
    inputs_of_task: dict[str, str]  # task -> preprocessing name of its inputs
    segmentation_demo: bool = False  # the label map was drawn by a demo segmentation model
    warnings: tuple[str, ...] = ()  # e.g. a demo segmentation model run on an image that is not the bundled phantom

    @property
    def demo(self) -> bool:
        """A demo classifier or a demo segmentation model makes the whole result DEMO."""
        return self.segmentation_demo or any(p.demo for p in self.predictions.values())


class Analyzer:
    def __init__(
        self, prepared: PreparedCase, model_paths: dict[str, object] | None = None, tasks: tuple[str, ...] = TASKS
    ):
        self.prepared = prepared
        phases = tuple(p.value for p in prepared.case.phases)
        model_paths = model_paths or {}
        loaded = {}
        chosen = {task: choose(task, phases, model_paths.get(task), loaded) for task in tasks}
        # One entry per distinct package, with the tasks it serves here and the phases it uses.
        self.runs: list[tuple[ModelPackage, tuple[str, ...], tuple[str, ...]]] = []
        for task, (package, used) in chosen.items():
            for i, (other, other_tasks, other_used) in enumerate(self.runs):
                if other is package and other_used == used:
                    self.runs[i] = (other, (*other_tasks, task), other_used)
                    break
            else:
                self.runs.append((package, (task,), used))

    def run(self, center_lps=None) -> Analysis:
        prepared = self.prepared
        source = prepared.center_source if center_lps is None else "user"
        center = prepared.center_lps if center_lps is None else tuple(float(c) for c in center_lps)
        inputs, predictions, explanations, inputs_of_task = {}, {}, {}, {}
        for package, tasks, used in self.runs:
            preprocessing = package.card.preprocessing
            if preprocessing.name not in inputs:
                plane = plane_center(preprocessing, center, prepared.lesion, source)
                inputs[preprocessing.name] = make_model_input(
                    prepared.case, prepared.alignments, plane, preprocessing, prepared.mass_diameter_mm
                )
            found, maps = predict_and_explain(package, inputs[preprocessing.name], used)
            for task in tasks:
                predictions[task], explanations[task] = found[task], maps[task]
                inputs_of_task[task] = preprocessing.name
        segmentation = prepared.segmentation or {}
        return Analysis(
            center,
            source,
            inputs,
            predictions,
            explanations,
            inputs_of_task,
            bool(segmentation.get("model", {}).get("demo")),
            tuple(segmentation.get("warnings", ())),
        )
