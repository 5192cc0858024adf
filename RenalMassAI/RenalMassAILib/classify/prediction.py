"""Probabilities and Grad-CAM maps for one case's model inputs, in one forward/backward pass."""

import contextlib
import dataclasses

import numpy as np
import torch
from pytorch_grad_cam import GradCAM

from RenalMassAILib.classify.model_input import ModelInput
from RenalMassAILib.classify.model_package import ModelPackage
from RenalMassAILib.classify.networks.factory import gradcam_layers
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS


@dataclasses.dataclass(frozen=True)
class TaskPrediction:
    task: str
    probability: float
    phases_used: tuple[str, ...]
    model_id: str
    model_version: str
    demo: bool

    @property
    def score_0_10(self) -> float:
        """The paper's 'AI-aggressiveness score', read as 10 x P(aggressive)."""
        return 10.0 * self.probability

    def summary(self) -> dict:
        result = {
            "probability": round(self.probability, 4),
            "phases_used": list(self.phases_used),
            "model": {"id": self.model_id, "version": self.model_version, "demo": self.demo},
        }
        if self.task == "aggressiveness":
            result["score_0_10"] = round(self.score_0_10, 2)
            result["score_definition"] = "10 x P(aggressive)"
        return result


def network_input(
    package: ModelPackage, model_input: ModelInput, phases_used
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """x [1, P, H, W] in the network's phase order; for subset networks also the presence mask."""
    patches = {phase.value: patch for phase, patch in model_input.patches.items()}
    slots = PHASE_SLOTS if package.card.accepts_phase_subsets else package.card.phases
    blank = np.zeros_like(next(iter(patches.values())))
    x = torch.from_numpy(np.stack([patches[p] if p in phases_used else blank for p in slots]))[None]
    if not package.card.accepts_phase_subsets:
        return x, None
    return x, torch.tensor([[p in phases_used for p in PHASE_SLOTS]])


def predict(package: ModelPackage, model_input: ModelInput, phases_used) -> dict[str, TaskPrediction]:
    x, present = network_input(package, model_input, phases_used)
    with torch.inference_mode():
        logits = package.network(x) if present is None else package.network(x, present)
    return _predictions(package, logits[0], phases_used)


def predict_and_explain(package: ModelPackage, model_input: ModelInput, phases_used):
    """Predictions for every task of the package and Grad-CAM maps {task: {phase: [H, W] in [0, 1]}}.

    The input is repeated once per task and each copy targets its task's positive-class logit, so
    a single backward pass gives every task's and every phase's map. Only the target layers'
    parameters take part in autograd, so the backward pass stops there (_graph_from).
    """
    x, present = network_input(package, model_input, phases_used)
    tasks = package.card.tasks
    model = _CamModel(package.network, present, len(tasks))
    layers = gradcam_layers(package.network)
    cam = _PerLayerGradCAM(model=model, target_layers=layers)
    with _graph_from(package.network, layers):
        maps, logits = _cam_and_logits(cam, x, len(tasks))
    # Per-branch networks give [tasks, phases, H, W]; a shared backbone gives [tasks * phases, 1, H, W];
    # early fusion [tasks, 1, H, W]: one map of the phases together, shown on each phase.
    maps = maps.reshape(len(tasks), -1, *maps.shape[-2:])
    maps = np.broadcast_to(maps, (len(tasks), len(phases_used), *maps.shape[-2:]))
    order = [
        p for p in (PHASE_SLOTS if package.card.accepts_phase_subsets else package.card.phases) if p in phases_used
    ]
    explanations = {
        task: {phase: maps[t, i].astype(np.float32) for i, phase in enumerate(order)} for t, task in enumerate(tasks)
    }
    return _predictions(package, logits, phases_used), explanations


def _cam_and_logits(cam, x: torch.Tensor, tasks: int) -> tuple[np.ndarray, torch.Tensor]:
    try:
        maps = cam(x.repeat(tasks, 1, 1, 1), targets=[_PositiveLogit(t) for t in range(tasks)])
        return maps, cam.outputs[0].detach().reshape(tasks, 2)
    finally:
        cam.activations_and_grads.release()


@contextlib.contextmanager
def _graph_from(network: torch.nn.Module, layers: list[torch.nn.Module]):
    """Within: only the target layers' parameters require gradients. Grad-CAM needs the gradient at
    the target layers' outputs only; layers before them then build no graph, and the backward pass
    (two thirds of a refresh when it ran through the whole ResNet) stops at the target layers. The
    maps are the same: a gradient with respect to an activation does not depend on which parameters
    are tracked."""
    parameters = list(network.parameters())
    before = [p.requires_grad for p in parameters]
    kept = {id(p) for layer in layers for p in layer.parameters()}
    try:
        for parameter in parameters:
            parameter.requires_grad_(id(parameter) in kept)
        yield
    finally:
        for parameter, required in zip(parameters, before):
            parameter.requires_grad_(required)


def _predictions(package: ModelPackage, logits: torch.Tensor, phases_used) -> dict[str, TaskPrediction]:
    probabilities = torch.softmax(logits.float(), dim=-1)[:, 1]
    card = package.card
    return {
        task: TaskPrediction(task, float(probabilities[t]), tuple(phases_used), card.id, card.version, card.demo)
        for t, task in enumerate(card.tasks)
    }


class _CamModel(torch.nn.Module):
    """What pytorch-grad-cam calls: one tensor in, [B, tasks * 2] logits out."""

    def __init__(self, network, present, copies: int):
        super().__init__()
        self.network = network
        self.present = None if present is None else present.repeat(copies, 1)

    def forward(self, x):
        logits = self.network(x) if self.present is None else self.network(x, self.present)
        return logits.flatten(1)


class _PositiveLogit:
    """Grad-CAM target: positive minus negative logit of one task (its log-odds)."""

    def __init__(self, task_index: int):
        self.task_index = task_index

    def __call__(self, output):
        return output[2 * self.task_index + 1] - output[2 * self.task_index]


class _PerLayerGradCAM(GradCAM):
    """GradCAM keeping one map per target layer (one per phase branch) instead of their mean."""

    def aggregate_multi_layers(self, cam_per_target_layer):
        return np.concatenate(cam_per_target_layer, axis=1)
