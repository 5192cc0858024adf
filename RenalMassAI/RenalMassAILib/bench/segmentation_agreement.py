"""How well fast-path variants and the exported backends agree with nnU-Net's default path (whole
volume, tile step 0.5, all mirrors, PyTorch fp32) of the same trained model, on held-out phantoms: tumor
Dice per phantom, over the whole volume and inside the boxes the fast path segmented (the default
path's labels far from the kidney of interest are outside what the fast path is asked to segment)."""

import dataclasses

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.phantom import PhantomSpec, make_phantom

DEFAULT_PATH = SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, bf16=False, backend="torch")
FAST_PATH = {
    "around the tumor center": (SegmentationOptions(), True),
    "no point (located kidneys)": (SegmentationOptions(), False),
    # the default path itself with the network in another backend, float32: the backend alone
    "default path, OpenVINO fp32": (dataclasses.replace(DEFAULT_PATH, backend="openvino"), False),
    "default path, ONNX Runtime fp32": (dataclasses.replace(DEFAULT_PATH, backend="onnxruntime"), False),
    # the same with OpenVINO's bf16 hint: bfloat16 where the CPU runs it natively (the row's `precision`)
    "default path, OpenVINO bf16 hint": (dataclasses.replace(DEFAULT_PATH, backend="openvino", bf16=True), False),
    # quantised to INT8 (NNCF, calibrated on the demo case; lesion/int8_network.py), the rest in float32
    "default path, OpenVINO int8": (dataclasses.replace(DEFAULT_PATH, backend="openvino", int8=True), False),
}
SEEDS = tuple(range(7901, 7907))
_SUBTYPES = ("ccRCC", "papillary", "chromophobe", "bosniak-4", "ccRCC", "bosniak-3")  # as in the demo's training set


def agreement_phantom_spec(seed: int) -> PhantomSpec:
    """Masses of 30, 45 and 60 mm, both sides, all poles; 160 x 160 x 48 voxels of 2 x 2 x 3 mm."""
    number = seed - SEEDS[0]
    return PhantomSpec(
        seed=seed,
        subtype=_SUBTYPES[number % len(_SUBTYPES)],
        diameter_mm=(45.0, 30.0, 60.0)[number % 3],
        side=("left", "right")[number % 2],
        pole=("mid", "upper", "lower")[number % 3],
        extra_cysts=1,
        size=(160, 160, 48),
        spacing=(2.0, 2.0, 3.0),
    )


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


def measure_agreement(model_folder, variants=FAST_PATH, seeds=SEEDS, log=None) -> list[dict]:
    """One row per phantom: the default path against the truth, each variant against the default path
    and the truth, with its network passes and growths. variants: name -> (options, at the center?)."""
    say = log or (lambda message: None)
    rows = []
    for seed in seeds:
        spec = agreement_phantom_spec(seed)
        phantom = make_phantom(spec)
        case = phantom.case()
        model = open_segmentation_model(model_folder, case.phases)
        default = segment(case, model, None, DEFAULT_PATH)
        reference = sitk.GetArrayViewFromImage(default.label_map.image) == 2
        truth = sitk.GetArrayViewFromImage(phantom.labels) == 2
        row = {
            "seed": seed,
            "mass": f"{spec.subtype}, {spec.diameter_mm:.0f} mm, {spec.side} {spec.pole}",
            "default_vs_truth": round(dice(reference, truth), 3),
            "default_passes": default.forward_passes,
        }
        for name, (options, at_center) in variants.items():
            result = segment(case, model, phantom.lesion_center_lps if at_center else None, options)
            tumor = sitk.GetArrayViewFromImage(result.label_map.image) == 2
            inside = _inside(result.boxes, tumor.shape)
            row[name] = {
                "vs_default_in_box": round(dice(tumor & inside, reference & inside), 3),
                "vs_default": round(dice(tumor, reference), 3),
                "vs_truth": round(dice(tumor, truth), 3),
                "passes": result.forward_passes,
                "growths": result.growths,
                "precision": result.backend.get("precision"),
            }
        say(f"seed {seed} ({row['mass']}): " + ", ".join(f"{n} {row[n]['vs_default_in_box']:.3f}" for n in variants))
        rows.append(row)
    return rows


def _inside(boxes, shape) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    for box in boxes:
        mask[box.array_slices()] = True
    return mask


def summary(rows: list[dict], variants=FAST_PATH) -> dict:
    """Mean and minimum tumor Dice against the default path (inside the boxes; whole volume), per variant."""
    return {
        name: {
            f"{key}_{stat}": round(float(f([r[name][key] for r in rows])), 3)
            for key in ("vs_default_in_box", "vs_default")
            for stat, f in (("mean", np.mean), ("min", np.min))
        }
        for name in variants
    }
