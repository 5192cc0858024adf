"""One task's network inputs with its Grad-CAM, one tile per phase, labelled (PNG)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from RenalMassAILib.case.phase import PHASE_ORDER
from RenalMassAILib.pipeline import Analysis
from RenalMassAILib.present.gradcam_panel import blend
from RenalMassAILib.present.report import DEMO_BANNER


def write_task_panel(analysis: Analysis, task: str, path) -> str:
    prediction = analysis.predictions[task]
    model_input = analysis.model_inputs[analysis.inputs_of_task[task]]
    maps = analysis.explanations[task]
    phases = [p for p in PHASE_ORDER if p in model_input.patches]
    figure, axes = plt.subplots(1, len(phases), figsize=(3.2 * len(phases), 3.9), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        patch = model_input.patches[phase]
        heat = maps.get(phase.value)
        ax.imshow(blend(patch, heat) if heat is not None else patch, cmap=None if heat is not None else "gray")
        used = "" if heat is not None else " (not used)"
        ax.set_title(f"{phase.long_name}{used}", fontsize=10)
        ax.axis("off")
    title = f"{task}: P = {prediction.probability:.2f}"
    if task == "aggressiveness":
        title += f", score {prediction.score_0_10:.1f}/10"
    title += f"\nmodel {prediction.model_id} v{prediction.model_version}; input {model_input.preprocessing.name}"
    figure.suptitle(title, fontsize=10)
    if prediction.demo:
        figure.text(
            0.5,
            0.02,
            DEMO_BANNER,
            ha="center",
            va="bottom",
            color="white",
            fontsize=11,
            weight="bold",
            bbox={"facecolor": "#c00000", "edgecolor": "none", "pad": 4},
        )
    figure.tight_layout(rect=(0, 0.07 if prediction.demo else 0, 1, 1))
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return Path(path).name
