"""Trains the bundled demo segmentation model with nnU-Net v2's own commands, on phantoms.

    .venv/bin/python scripts/train_demo_segmentation.py [--cases 40] [--trainer nnUNetTrainer_10epochs] [--work DIR]
        [--pretrained CHECKPOINT] [--results DIR]

The bundled model: a first run (10 epochs), a second run of 10 epochs starting from the first run's
weights (`--pretrained <work>/results/.../fold_0/checkpoint_final.pth --results <other folder>`), and a
third of 20 epochs from the second's (`--trainer nnUNetTrainer_20epochs --pretrained ... --results ...`).

1. writes a phantom dataset in nnU-Net's raw format (venous phase; kidney 1, tumor 2, cyst 3);
2. nnU-Net's fingerprint and planning, then edits the plans (CT normalisation; a network that trains
   in minutes on a CPU: 4 stages, 8-64 features, patch 32 x 80 x 80), then nnU-Net's preprocessing;
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
    return PhantomSpec(
        subtype=SUBTYPES[number % len(SUBTYPES)],
        diameter_mm=30.0 + (number * 7) % 40,
        grade=1 + number % 4,
        side="left" if number % 2 else "right",
        extra_cysts=1,
        size=SIZE,
        spacing=SPACING,
        seed=seed_base + number,
    )


def write_dataset(raw: Path, cases: int) -> None:
    folder = raw / DATASET
    (folder / "imagesTr").mkdir(parents=True, exist_ok=True)
    (folder / "labelsTr").mkdir(parents=True, exist_ok=True)
    for number in range(cases):
        phantom = make_phantom(phantom_spec(number))
        sitk.WriteImage(phantom.images[Phase.VENOUS], str(folder / "imagesTr" / f"case_{number:03d}_0000.nii.gz"))
        sitk.WriteImage(phantom.labels, str(folder / "labelsTr" / f"case_{number:03d}.nii.gz"))
    # The venous phase: renal parenchyma is uniform there (cortex = medulla) and masses stand out; in
    # the arterial phase the medulla looks like a hypo-enhancing mass and a small CPU-trained model
    # found no tumor in 1000 iterations.
    dataset = {
        "channel_names": {"0": "venous"},
        "labels": {"background": 0, "kidney": 1, "tumor": 2, "cyst": 3},
        "numTraining": cases,
        "file_ending": ".nii.gz",
        "name": "RenalPhantom",
        "description": "Synthetic renal CT phantoms (RenalMassAILib.phantom); demo only",
    }
    (folder / "dataset.json").write_text(json.dumps(dataset, indent=2))


def edit_plans(preprocessed: Path) -> None:
    """A network small enough to train in minutes on a CPU, and nnU-Net's CT normalisation (fixed
    global statistics: a crop of the volume sees the same intensities as the whole volume, so the fast
    path agrees with the whole-volume path; per-image z-scoring would not)."""
    path = preprocessed / DATASET / "nnUNetPlans.json"
    plans = json.loads(path.read_text())
    configuration = plans["configurations"]["3d_fullres"]
    configuration["normalization_schemes"] = ["CTNormalization"]
    configuration["patch_size"] = [32, 80, 80]
    configuration["batch_size"] = 2
    arch = configuration["architecture"]["arch_kwargs"]
    arch.update(
        n_stages=4,
        features_per_stage=[8, 16, 32, 64],
        kernel_sizes=[[1, 3, 3], [3, 3, 3], [3, 3, 3], [3, 3, 3]],
        strides=[[1, 1, 1], [1, 2, 2], [2, 2, 2], [2, 2, 2]],
        n_conv_per_stage=[2, 2, 2, 2],
        n_conv_per_stage_decoder=[2, 2, 2],
    )
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
    # What RenalMassAI records for this model (lesion/nnunet_model.py): a demo, trained on phantoms.
    identity = {
        "id": "demo-nnunet-phantom",
        "version": trainer,
        "demo": True,
        "trained_on": "synthetic phantoms (RenalMassAILib.phantom), venous phase",
    }
    (target / "renalmassai.json").write_text(json.dumps(identity, indent=2) + "\n")
    checkpoint = torch.load(source / "fold_0" / "checkpoint_final.pth", map_location="cpu", weights_only=False)
    kept = {
        key: checkpoint[key]
        for key in ("network_weights", "trainer_name", "init_args", "inference_allowed_mirroring_axes")
        if key in checkpoint
    }
    kept["init_args"] = {"configuration": checkpoint["init_args"]["configuration"]}
    torch.save(kept, target / "fold_0" / "checkpoint_final.pth")
    return target


def held_out_dice(cases: int = 10) -> dict:
    """Mean Dice on phantoms not seen in training, through the engine's fast path (no point given)."""
    import numpy as np

    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.segmentation import segment

    model = open_segmentation_model(next(p for p in TARGET.iterdir() if p.is_dir()))
    scores = {"kidney": [], "tumor": [], "cyst": []}
    for number in range(cases):
        phantom = make_phantom(phantom_spec(number, seed_base=8000))
        found = sitk.GetArrayFromImage(segment(phantom.case(), model).label_map.image)
        truth = sitk.GetArrayFromImage(phantom.labels)
        for name, value in (("kidney", 1), ("tumor", 2), ("cyst", 3)):
            a, b = truth == value, found == value
            scores[name].append(2 * (a & b).sum() / max(1, a.sum() + b.sum()))
    return {name: round(float(np.mean(values)), 3) for name, values in scores.items()} | {"cases": cases}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=40)
    parser.add_argument("--trainer", default="nnUNetTrainer_10epochs")
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "demo-segmentation"))
    parser.add_argument("--pretrained", help="start from these weights (nnUNetv2_train -pretrained_weights)")
    parser.add_argument("--results", help="nnUNet_results folder (default: WORK/results)")
    args = parser.parse_args()
    work = Path(args.work)
    results = Path(args.results or work / "results")
    environment = dict(
        os.environ,
        nnUNet_raw=str(work / "raw"),
        nnUNet_preprocessed=str(work / "preprocessed"),
        nnUNet_results=str(results),
        nnUNet_def_n_proc="2",
        nnUNet_n_proc_DA="0",
    )
    bin_dir = Path(sys.executable).parent
    if not (work / "raw" / DATASET / "dataset.json").exists():
        write_dataset(work / "raw", args.cases)
    # Planning sets torch's thread count from nnUNet_n_proc_DA, which must then be positive.
    planning = dict(environment, nnUNet_n_proc_DA="1")
    run(
        [str(bin_dir / "nnUNetv2_extract_fingerprint"), "-d", "501", "-np", "2", "--verify_dataset_integrity"], planning
    )
    run([str(bin_dir / "nnUNetv2_plan_experiment"), "-d", "501"], planning)
    edit_plans(work / "preprocessed")
    run([str(bin_dir / "nnUNetv2_preprocess"), "-d", "501", "-c", "3d_fullres", "-np", "2"], planning)
    pretrained = ["-pretrained_weights", args.pretrained] if args.pretrained else []
    run(
        [str(bin_dir / "nnUNetv2_train"), "501", "3d_fullres", "0", "-tr", args.trainer, "-device", "cpu", *pretrained],
        environment,
    )
    print(f"exported {export(results, args.trainer)}")
    print(json.dumps({"held_out_dice": held_out_dice()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
