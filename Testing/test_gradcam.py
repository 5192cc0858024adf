"""Grad-CAM through pytorch-grad-cam with autograd limited to the target layers: the same maps and
probabilities as with every parameter tracked, and the network's own settings left as they were."""

import numpy as np
import pytest
import torch

from RenalMassAILib.case.loading import load_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.model_input import ModelInput, PatchGeometry
from RenalMassAILib.classify.model_package import load_package
from RenalMassAILib.classify.networks.factory import gradcam_layers
from RenalMassAILib.classify.prediction import (
    _cam_and_logits,
    _CamModel,
    _PerLayerGradCAM,
    network_input,
    predict_and_explain,
)
from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.prepare import prepare_case
from RenalMassAILib.resources import demo_case_dir, resources_dir


def _inputs(seed=0) -> ModelInput:
    rng = np.random.default_rng(seed)
    patches = {p: rng.random((224, 224), dtype=np.float32) for p in Phase}
    return ModelInput(patches, PatchGeometry((0.0, 0.0, 0.0), 120 / 224, 224), PRESETS["authors-code"])


def _demo_case_inputs(package) -> ModelInput:
    """The bundled demo case's inputs for the package's preset: a map the network has reasons to draw."""
    folder = demo_case_dir()
    images = {p: folder / f"{name}.nii.gz" for p, name in ((Phase.NON_CONTRAST, "non-contrast"),
              (Phase.ARTERIAL, "arterial"), (Phase.VENOUS, "venous"))}  # fmt: skip
    case = load_case(images, "demo")
    label_map = read_label_map(folder / "segmentation.nii.gz", case.reference)
    return prepare_case(case, package.card.preprocessing, label_map).model_input


@pytest.mark.parametrize("model", ["demo-early-fusion-resnet18", "demo-shared-resnet18"])
def test_maps_equal_those_with_every_parameter_tracked(model):
    package = load_package(resources_dir() / "Models" / model)
    model_input = _demo_case_inputs(package)
    phases = ("N", "A", "V")
    predictions, maps = predict_and_explain(package, model_input, phases)

    # the reference: pytorch-grad-cam on the whole network, every parameter requiring gradients
    x, present = network_input(package, model_input, phases)
    tasks = len(package.card.tasks)
    cam = _PerLayerGradCAM(
        model=_CamModel(package.network, present, tasks), target_layers=gradcam_layers(package.network)
    )
    reference, logits = _cam_and_logits(cam, x, tasks)
    # one map per phase (shared backbone), or one of the phases together shown on each (early fusion)
    reference = np.broadcast_to(reference.reshape(tasks, -1, 224, 224), (tasks, len(phases), 224, 224))
    probabilities = torch.softmax(logits.float(), -1)[:, 1]
    for t, task in enumerate(package.card.tasks):
        assert abs(predictions[task].probability - float(probabilities[t])) < 1e-5
        for i, phase in enumerate(phases):
            assert maps[task][phase].max() > 0.5  # a map, not zeros (maps are scaled to [0, 1])
            np.testing.assert_allclose(maps[task][phase], reference[t, i], atol=1e-4)


def test_parameters_require_gradients_afterwards_as_before_and_early_layers_get_none():
    package = load_package(resources_dir() / "Models" / "demo-shared-resnet18")
    network = package.network
    first = next(network.parameters())
    first.requires_grad_(False)  # a setting of the caller's, kept
    before = [p.requires_grad for p in network.parameters()]
    for parameter in network.parameters():
        parameter.grad = None
    predict_and_explain(package, _inputs(1), ("N", "A", "V"))
    assert [p.requires_grad for p in network.parameters()] == before
    tracked = {id(p) for layer in gradcam_layers(network) for p in layer.parameters()}
    untouched = [p for p in network.parameters() if id(p) not in tracked]
    assert untouched and all(p.grad is None for p in untouched)  # the backward pass stopped at the target layers
