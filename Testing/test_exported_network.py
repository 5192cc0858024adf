"""nnU-Net's network in OpenVINO and ONNX Runtime inside nnU-Net's own predictor: the same labels as
PyTorch in float32, exported once into the cache (never the model folder), and what ran recorded."""

import os

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from conftest import phantom
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.exported_network import ExportedNetwork, auto_backend, export_folder
from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.resources import demo_segmentation_model

SPEC = dict(seed=7902, subtype="ccRCC", diameter_mm=40.0, side="right", pole="mid", size=(112, 112, 36),
            spacing=(2.5, 2.5, 4.0))  # fmt: skip
FP32 = SegmentationOptions(grow=False, mirroring=False, bf16=False)


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


@pytest.fixture(scope="module")
def case():
    return phantom(**SPEC)


@pytest.fixture(scope="module")
def model(case):
    return open_segmentation_model(demo_segmentation_model(), case.case().phases)


@pytest.fixture(scope="module")
def torch_fp32(case, model):
    options = SegmentationOptions(grow=False, mirroring=False, bf16=False, backend="torch")
    return segment(case.case(), model, case.lesion_center_lps, options)


@pytest.mark.parametrize("backend", ["openvino", "onnxruntime"])
def test_an_exported_backend_labels_as_pytorch_float32_does(case, model, torch_fp32, backend):
    folder_before = sorted(p.name for p in model.folder.rglob("*"))
    options = SegmentationOptions(grow=False, mirroring=False, bf16=False, backend=backend)
    result = segment(case.case(), model, case.lesion_center_lps, options)

    assert result.backend["backend"] == backend and result.backend["precision"] == "f32"
    assert torch_fp32.backend == {"backend": "torch", "precision": "f32"}
    reference = sitk.GetArrayViewFromImage(torch_fp32.label_map.image)
    labels = sitk.GetArrayViewFromImage(result.label_map.image)
    assert (reference == 2).sum() > 500  # the mass is there to compare
    for value in (1, 2):  # kidney, tumor
        assert _dice(reference == value, labels == value) >= 0.99
    assert sorted(p.name for p in model.folder.rglob("*")) == folder_before  # nothing written beside the model
    (exported,) = result.backend["exported"]
    assert (export_folder() / exported).is_file() and str(export_folder()).startswith(os.environ["RENALMASSAI_CACHE"])


def test_the_export_is_made_once_per_checkpoint_and_named_by_its_sha256(case, model):
    import hashlib

    options = SegmentationOptions(grow=False, mirroring=False, bf16=False, backend="onnxruntime")
    first = segment(case.case(), model, case.lesion_center_lps, options).backend["exported"][0]
    made = (export_folder() / first).stat().st_mtime_ns
    second = segment(case.case(), model, case.lesion_center_lps, options).backend["exported"][0]
    checkpoint = model.folder / f"fold_{model.folds[0]}" / model.checkpoint
    assert first == second and (export_folder() / first).stat().st_mtime_ns == made
    assert first.startswith(hashlib.sha256(checkpoint.read_bytes()).hexdigest())


def test_the_exported_network_runs_the_fold_nnunet_loaded_last():
    folds = [{"w": torch.zeros(1)}, {"w": torch.zeros(1)}]  # equal values: chosen by identity, not by value
    network = ExportedNetwork([lambda x: x + 1, lambda x: x + 2], folds)
    x = torch.zeros(1, 1, 2, 2, 2)
    network.load_state_dict(folds[1])
    assert float(network(x).max()) == 2.0
    network.load_state_dict(folds[0])
    assert float(network(x).max()) == 1.0


def test_auto_picks_openvino_on_the_cpu_and_torch_on_cuda(case, model):
    assert auto_backend(torch.device("cpu")) == "openvino"  # installed with the project
    assert auto_backend(torch.device("cuda")) == "torch"
    with pytest.raises(InputError, match="CPU only"):
        segment(case.case(), model, case.lesion_center_lps, SegmentationOptions(backend="openvino", device="cuda"))


def test_bf16_autocast_only_where_the_cpu_runs_it_natively(model, monkeypatch):
    from RenalMassAILib.lesion import nnunet_predictor as predictors

    def record(native: bool) -> dict:
        monkeypatch.setattr(predictors, "cpu_runs_bf16_natively", lambda: native)
        made = predictors.nnunet_predictor(model, False, 1.0, True, torch.device("cpu"), lambda *a: None, "torch")
        return made.backend_record

    # without native bf16 autocast made one 64^3 pass 200x slower: float32, and the record says so
    assert record(False) == {"backend": "torch", "precision": "f32"}
    assert record(True) == {"backend": "torch", "precision": "bf16"}
