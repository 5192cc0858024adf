"""An nnU-Net v2 model folder shaped like the KiTS 3d_fullres plans (patch 128^3, 32 base features,
6 stages) with random weights, built by nnU-Net's own network factory: for timing only."""

import copy
import json
from pathlib import Path

import torch

KITS_SPACING_ZYX = [1.0, 0.78125, 0.78125]


def kits_sized_model(folder: Path, template: Path) -> Path:
    """template: any nnU-Net trained-model folder whose plans.json / dataset.json serve as a base."""
    from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

    folder = Path(folder)
    if (folder / "fold_0" / "checkpoint_final.pth").exists():
        return folder
    plans = json.loads((template / "plans.json").read_text())
    dataset = json.loads((template / "dataset.json").read_text()) | {"channel_names": {"0": "CT"}}
    configuration = copy.deepcopy(plans["configurations"]["3d_fullres"])
    configuration.update(patch_size=[128, 128, 128], spacing=KITS_SPACING_ZYX, batch_size=2)
    arch = configuration["architecture"]["arch_kwargs"]
    arch.update(
        n_stages=6,
        features_per_stage=[32, 64, 128, 256, 320, 320],
        kernel_sizes=[[3, 3, 3]] * 6,
        strides=[[1, 1, 1]] + [[2, 2, 2]] * 5,
        n_conv_per_stage=[2] * 6,
        n_conv_per_stage_decoder=[2] * 5,
    )
    plans["configurations"] = {"3d_fullres": configuration}
    plans["foreground_intensity_properties_per_channel"] = {
        "0": {
            "mean": 100.0,
            "std": 75.0,
            "percentile_00_5": -70.0,
            "percentile_99_5": 300.0,
            "median": 100.0,
            "min": -1024.0,
            "max": 3000.0,
        }
    }
    network = get_network_from_plans(
        configuration["architecture"]["network_class_name"],
        arch,
        configuration["architecture"]["_kw_requires_import"],
        1,
        len(dataset["labels"]),
        allow_init=True,
        deep_supervision=False,
    )
    (folder / "fold_0").mkdir(parents=True, exist_ok=True)
    (folder / "plans.json").write_text(json.dumps(plans, indent=2))
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))
    torch.save(
        {
            "network_weights": network.state_dict(),
            "trainer_name": "nnUNetTrainer",
            "init_args": {"configuration": "3d_fullres"},
            "inference_allowed_mirroring_axes": (0, 1, 2),
        },
        folder / "fold_0" / "checkpoint_final.pth",
    )
    return folder
