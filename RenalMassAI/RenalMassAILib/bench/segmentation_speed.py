"""Segmentation on 2 CPU cores: the fast path's time with a KiTS-sized model on a 512 x 512 x 120
arterial volume, the default path's time (projected from its step count), and how well the fast path
agrees with the default path (tumour Dice, with the trained demo model: a random-weight model's
output says nothing)."""

import time
from pathlib import Path

import SimpleITK as sitk
import torch

from RenalMassAILib.bench.bench_case import bench_case
from RenalMassAILib.bench.kits_sized_model import kits_sized_model
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.lesion.lesion import body_midline_x, find_lesions
from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.segmentation import SegmentationOptions, _predictor, segment
from RenalMassAILib.phantom import PhantomSpec, make_phantom
from RenalMassAILib.resources import demo_segmentation_model


def run(size=(512, 512, 120), repeats: int = 1, log=None) -> dict:
    say = log or (lambda message: None)
    demo = demo_segmentation_model()
    cache = Path.home() / ".cache" / "renalmassai" / "bench"
    model = open_segmentation_model(kits_sized_model(cache / "kits-sized-model", demo))
    paths, _ = bench_case(size, log=say)
    arterial = sitk.ReadImage(str(paths["arterial"]))
    case = Case({Phase.ARTERIAL: arterial}, {}, "bench")
    labels = to_label_map(sitk.ReadImage(str(paths["segmentation"])), arterial)
    centre = find_lesions(labels, body_midline_x(arterial))[0].centroid_lps
    torch.set_num_threads(2)

    say("fast path (160 mm around the tumour centre, no mirroring, bf16, tile step 1.0) ...")
    fast = segment(case, model, centre, SegmentationOptions())
    say(f"fast path: {fast.seconds:.1f} s, {fast.forward_passes} forward passes")
    say("fast path without a point (coarse kidney localisation) ...")
    located = segment(case, model, None, SegmentationOptions())
    say(f"fast path, localised: {located.seconds:.1f} s, {located.regions} regions, {located.forward_passes} passes")

    steps, per_pass = _default_path_cost(model, arterial)
    projected = steps * 8 * per_pass
    say(f"default path: {steps} steps x 8 mirrors x {per_pass:.1f} s = {projected / 60:.0f} min (projected)")
    agreement = _agreement(demo)
    say(f"demo model, fast vs default path: tumour Dice {agreement['tumor_dice']:.3f}")
    return {"benchmark": "segmentation", "size": list(size), "spacing_mm": list(arterial.GetSpacing()),
            "kits_sized_model": "3d_fullres, patch 128^3, 32 base features, 6 stages (random weights)",
            "fast_seconds": round(fast.seconds, 1), "fast_forward_passes": fast.forward_passes,
            "fast_localised_seconds": round(located.seconds, 1), "fast_localised_regions": located.regions,
            "fast_localised_forward_passes": located.forward_passes,
            "default_steps": steps, "default_mirrors": 8, "fp32_seconds_per_pass": round(per_pass, 2),
            "default_projected_seconds": round(projected), **agreement}


def _default_path_cost(model, image: sitk.Image) -> tuple[int, float]:
    """Sliding-window steps of the whole volume at the model's spacing (tile step 0.5), and the time of
    one fp32 forward pass of a patch."""
    predictor = _predictor(model, SegmentationOptions(fast=False, tile_step_size=0.5, bf16=False), torch.device("cpu"),
                           lambda *args: None)
    target = predictor.configuration_manager.spacing
    shape = [int(round(n * s / t)) for n, s, t in zip(image.GetSize()[::-1], image.GetSpacing()[::-1], target)]
    steps = len(predictor._internal_get_sliding_window_slicers(shape))
    patch = torch.zeros(1, 1, *predictor.configuration_manager.patch_size)
    with torch.inference_mode():
        predictor.network(patch)  # warm-up
        start = time.perf_counter()
        predictor.network(patch)
    return steps, time.perf_counter() - start


def _agreement(demo_folder) -> dict:
    phantom = make_phantom(PhantomSpec(seed=7950, subtype="ccRCC", diameter_mm=40.0, side="right", extra_cysts=1,
                                       size=(112, 112, 36), spacing=(2.5, 2.5, 4.0)))
    model = open_segmentation_model(demo_folder)
    case = phantom.case()
    fast = segment(case, model, None, SegmentationOptions())
    default = segment(case, model, None, SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, bf16=False))
    a = sitk.GetArrayViewFromImage(fast.label_map.image)
    b = sitk.GetArrayViewFromImage(default.label_map.image)
    dice = lambda x, y: 2 * float((x & y).sum()) / max(1.0, float(x.sum() + y.sum()))  # noqa: E731
    return {"tumor_dice": round(dice(a == 2, b == 2), 4), "kidney_dice": round(dice(a == 1, b == 1), 4),
            "demo_fast_seconds": round(fast.seconds, 2), "demo_default_seconds": round(default.seconds, 2)}
