"""Trains the bundled demo segmentation model with nnU-Net v2's own commands, on phantoms.

    .venv/bin/python scripts/train_demo_segmentation.py [--cases 40] [--trainer nnUNetTrainer_10epochs] [--work DIR]

1. writes a phantom dataset in nnU-Net's raw format (arterial phase as channel "CT"; kidney 1, tumor 2, cyst 3);
2. `nnUNetv2_plan_and_preprocess` (3d_fullres), then shrinks the planned network so that it trains in
   minutes on a CPU (4 stages, 8-64 features, patch 32 x 80 x 80);
3. `nnUNetv2_train` fold 0 on the CPU;
4. copies dataset.json, plans.json and fold_0/checkpoint_final.pth (network weights only, no optimiser
   state) into Resources/SegmentationModels/demo-nnunet-phantom/.
Synthetic data only: a demo that the integration works, not a model for patients.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import SimpleITK as sitk
import torch

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.phantom import PhantomSpec, make_phantom

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "Resources" / "SegmentationModels" / "demo-nnunet-phantom"
DATASET = "Dataset501_RenalPhantom"
SUBTYPES = ("ccRCC", "papillary", "chromophobe", "bosniak-4", "ccRCC", "papillary", "bosniak-3", "chromophobe")
SPACING = (2.5, 2.5, 4.0)
SIZE = (112, 112, 36)  # 280 x 280 x 144 mm around the lesion's level


def phantom_spec(number: int, seed_base: int = 7000) -> PhantomSpec:
    return PhantomSpec(subtype=SUBTYPES[number % len(SUBTYPES)], diameter_mm=30.0 + (number * 7) % 40,
                       grade=1 + number % 4, side="left" if number % 2 else "right", extra_cysts=1, size=SIZE,
                       spacing=SPACING, seed=seed_base + number)


def write_dataset(raw: Path, cases: int) -> None:
    folder = raw / DATASET
    (folder / "imagesTr").mkdir(parents=True, exist_ok=True)
    (folder / "labelsTr").mkdir(parents=True, exist_ok=True)
    for number in range(cases):
        phantom = make_phantom(phantom_spec(number))
        sitk.WriteImage(phantom.images[Phase.ARTERIAL], str(folder / "imagesTr" / f"case_{number:03d}_0000.nii.gz"))
        sitk.WriteImage(phantom.labels, str(folder / "labelsTr" / f"case_{number:03d}.nii.gz"))
    # "CT" selects nnU-Net's CT normalisation (fixed global statistics), which a crop of the volume
    # leaves unchanged: the fast path then sees the same intensities as the whole-volume path.
    dataset = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "kidney": 1, "tumor": 2, "cyst": 3},
               "numTraining": cases, "file_ending": ".nii.gz", "name": "RenalPhantom",
               "description": "Synthetic renal CT phantoms (RenalMassAILib.phantom); demo only"}
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))


def shrink_plans(preprocessed: Path) -> None:
    path = preprocessed / DATASET / "nnUNetPlans.json"
    plans = json.loads(path.read_text())
    configuration = plans["configurations"]["3d_fullres"]
    configuration["patch_size"] = [32, 80, 80]
    configuration["batch_size"] = 2
    arch = configuration["architecture"]["arch_kwargs"]
    arch.update(n_stages=4, features_per_stage=[8, 16, 32, 64],
                kernel_sizes=[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
                strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]],
                n_conv_per_stage=[2, 2, 2, 2], n_conv_per_stage_decoder=[2, 2, 2])
    path.write_text(json.dumps(plans, indent=2))


def run(command: list[str], environment: dict) -> None:
    print("$ " + " ".join(command), flush=True)
    subprocess.run(command, check=True, env=environment)


def export(results: Path, trainer: str) -> Path:
    source = results / DATASET / f"{trainer}__nnUNetPlans__3d_fullres"
    target = TARGET / source.name
    if TARGET.exists():
        shutil.rmtree(TARGET)
    (target / "fold_0").mkdir(parents=True)
    for name in ("dataset.json", "plans.json"):
        shutil.copy(source / name, target / name)
    checkpoint = torch.load(source / "fold_0" / "checkpoint_final.pth", map_location="cpu", weights_only=False)
    kept = {key: checkpoint[key] for key in ("network_weights", "trainer_name", "init_args",
                                              "inference_allowed_mirroring_axes") if key in checkpoint}
    kept["init_args"] = {"configuration": checkpoint["init_args"]["configuration"]}
    torch.save(kept, target / "fold_0" / "checkpoint_final.pth")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--trainer", default="nnUNetTrainer_10epochs")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "demo-segmentation"))
    args = parser.parse_args()
    work = Path(args.work)
    environment = dict(os.environ, nnUNet_raw=str(work / "raw"), nnUNet_preprocessed=str(work / "preprocessed"),
                       nnUNet_results=str(work / "results"), nnUNet_def_n_proc="2", nnUNet_n_proc_DA="0")
    bin_dir = Path(sys.executable).parent
    if not (work / "raw" / DATASET / "dataset.json").exists():
        write_dataset(work / "raw", args.cases)
    # Planning sets torch's thread count from nnUNet_n_proc_DA, which must then be positive.
    run([str(bin_dir / "nnUNetv2_plan_and_preprocess"), "-d", "501", "-c", "3d_fullres", "-np", "2",
         "--verify_dataset_integrity"], dict(environment, nnUNet_n_proc_DA="1"))
    shrink_plans(work / "preprocessed")
    run([str(bin_dir / "nnUNetv2_train"), "501", "3d_fullres", "0", "-tr", args.trainer, "-device", "cpu"], environment)
    print(f"exported {export(work / 'results', args.trainer)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
