"""nnU-Net checkpoints read without executing code, and the predictor set up as nnU-Net's own loader does."""

import os
import shutil

import numpy as np
import pytest
import torch

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.nnunet_checkpoint import initialize_predictor, read_checkpoint
from RenalMassAILib.resources import demo_segmentation_model


class _Payload:
    """What a malicious checkpoint holds: unpickling it would create a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.makedirs, (str(self.marker),))


def _nnunet_style_checkpoint(weights: dict) -> dict:
    """The keys and value types nnU-Net's save_checkpoint writes (numpy scalars and 0-d arrays in its log)."""
    return {
        "network_weights": weights,
        "optimizer_state": {"state": {}, "param_groups": [{"lr": 0.01, "params": [0, 1]}]},
        "grad_scaler_state": None,
        "logging": {"mean_fg_dice": [np.float64(0.5), np.float64(0.7)], "train_losses": [np.array(-0.4)]},
        "_best_ema": np.float64(0.69),
        "current_epoch": 20,
        "init_args": {"plans": {}, "configuration": "3d_fullres", "fold": 0, "device": torch.device("cpu")},
        "trainer_name": "nnUNetTrainer_20epochs",
        "inference_allowed_mirroring_axes": (0, 1, 2),
    }


def test_a_checkpoint_in_nnunet_format_is_read_and_a_pickled_object_is_refused_unexecuted(tmp_path):
    weights = {"conv.weight": torch.arange(6.0).reshape(2, 3)}
    good = tmp_path / "good.pth"
    torch.save(_nnunet_style_checkpoint(weights), good)
    read = read_checkpoint(good)
    assert torch.equal(read["network_weights"]["conv.weight"], weights["conv.weight"])
    assert read["logging"]["mean_fg_dice"][1] == 0.7 and read["init_args"]["device"] == torch.device("cpu")

    marker = tmp_path / "code-was-executed"
    bad = tmp_path / "bad.pth"
    torch.save({**_nnunet_style_checkpoint(weights), "extra": _Payload(marker)}, bad)
    with pytest.raises(InputError, match="would execute code") as refused:
        read_checkpoint(bad)
    assert str(bad) in str(refused.value) and "\n" not in str(refused.value)
    assert not marker.exists()

    not_nnunet = tmp_path / "state_dict.pth"
    torch.save(weights, not_nnunet)
    with pytest.raises(InputError, match="not an nnU-Net v2 checkpoint"):
        read_checkpoint(not_nnunet)


def test_the_predictor_matches_nnunets_own_initialisation(tmp_path):
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    folder = tmp_path / "model"
    shutil.copytree(demo_segmentation_model(), folder)
    fold = folder / "fold_0" / "checkpoint_final.pth"
    checkpoint = torch.load(fold, map_location="cpu", weights_only=True)
    torch.save({**_nnunet_style_checkpoint(checkpoint["network_weights"]), **checkpoint}, fold)

    def predictor():
        return nnUNetPredictor(perform_everything_on_device=False, device=torch.device("cpu"), allow_tqdm=False)

    ours, theirs = predictor(), predictor()
    initialize_predictor(ours, folder, ("0",), "checkpoint_final.pth")
    theirs.initialize_from_trained_model_folder(str(folder), ("0",), "checkpoint_final.pth")
    assert ours.allowed_mirroring_axes == theirs.allowed_mirroring_axes == (0, 1, 2)
    assert ours.trainer_name == theirs.trainer_name == "nnUNetTrainer_20epochs"
    assert ours.configuration_manager.patch_size == theirs.configuration_manager.patch_size
    assert type(ours.network) is type(theirs.network)
    patch = torch.randn(1, 1, *ours.configuration_manager.patch_size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ours.network.eval(), theirs.network.eval()
        assert torch.equal(ours.network(patch), theirs.network(patch))
