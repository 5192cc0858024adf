"""Segmentation on 2 CPU cores: the fast path's time with a KiTS-sized model on a 512 x 512 x 120
arterial volume (with and without a point, with the default options first, then without box growth),
one 128^3 network pass in each backend and precision, the default path's time (projected from its step
count), and how well the fast path and the backends agree with the default path (tumor Dice on
held-out phantoms, with the trained demo model: a random-weight model's output says nothing). Each
timing is the median of `repeats` runs, with its minimum and maximum."""

import time

import SimpleITK as sitk
import torch

from RenalMassAILib.bench.bench_case import bench_cache, bench_case, cache_key
from RenalMassAILib.bench.kits_sized_model import kits_sized_model
from RenalMassAILib.bench.repeated import repeated
from RenalMassAILib.bench.segmentation_agreement import measure_agreement, summary
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.lesion.lesion import body_midline_x, find_lesions
from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.nnunet_predictor import nnunet_predictor
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.resources import demo_segmentation_model
from RenalMassAILib.torch_threads import torch_threads


def run(size=(512, 512, 120), repeats: int = 1, log=None) -> dict:
    """The segmentation benchmark on 2 torch threads (this machine's cores); the caller's setting is kept."""
    with torch_threads(2):
        return _run(size, repeats, log)


def _run(size, repeats: int, log) -> dict:
    say = log or (lambda message: None)
    demo = demo_segmentation_model()
    template = [(demo / name).read_text() for name in ("plans.json", "dataset.json")]
    model = open_segmentation_model(kits_sized_model(bench_cache() / f"kits-sized-model-{cache_key(template)}", demo))
    paths, _ = bench_case(size, log=say)
    arterial = sitk.ReadImage(str(paths["arterial"]))
    case = Case({Phase.ARTERIAL: arterial}, {}, "bench")
    labels = to_label_map(sitk.ReadImage(str(paths["segmentation"])), arterial)
    center = find_lesions(labels, body_midline_x(arterial))[0].centroid_lps
    # paid once per process (nnU-Net's imports) and once per checkpoint (the export for OpenVINO); timed
    # apart so that the first path below is not charged for it
    started = time.perf_counter()
    nnunet_predictor(model, None, 1.0, True, torch.device("cpu"), lambda *args: None, "auto")
    timings = {"first_load_seconds": round(time.perf_counter() - started, 2)}
    say(f"first load (imports, export once per checkpoint): {timings['first_load_seconds']} s")
    for name, point, options in (
        # the default options first: what a user gets; the random weights label every face of the
        # first box, so it grows to the cap (the worst case)
        ("point_default_options", center, SegmentationOptions()),
        ("no_point_default_options", None, SegmentationOptions()),
        ("point_no_growth", center, SegmentationOptions(grow=False)),  # the mass inside the first box
        ("no_point_no_growth", None, SegmentationOptions(grow=False)),
    ):
        say(f"{name} ...")
        result, timing = repeated(lambda point=point, options=options: segment(case, model, point, options), repeats)
        timings[name] = {
            **timing,
            "regions": result.regions,
            "forward_passes": result.forward_passes,
            "growths": result.growths,
        }
        say(f"{name}: {timings[name]}")

    passes = seconds_per_pass(model, repeats, say)
    steps = _default_path_steps(model, arterial)
    per_pass = passes["torch fp32"]["seconds"]
    projected = steps * 8 * per_pass
    say(f"default path: {steps} steps x 8 mirrors x {per_pass:.1f} s = {projected / 60:.0f} min (projected)")
    say("agreement with the default path (demo model, held-out phantoms) ...")
    rows = measure_agreement(demo, log=say)
    return {
        "benchmark": "segmentation",
        "size": list(size),
        "spacing_mm": list(arterial.GetSpacing()),
        "kits_sized_model": "3d_fullres, patch 128^3, 32 base features, 6 stages (random weights)",
        **timings,
        "repeats": max(repeats, 1),
        "seconds_per_pass": passes,
        "default_steps": steps,
        "default_mirrors": 8,
        "fp32_seconds_per_pass": round(per_pass, 2),
        "default_projected_seconds": round(projected),
        "agreement": rows,
        "agreement_summary": summary(rows),
    }


def _default_path_steps(model, image: sitk.Image) -> int:
    """Sliding-window steps of the whole volume at the model's spacing (tile step 0.5)."""
    predictor = nnunet_predictor(model, True, 0.5, False, torch.device("cpu"), lambda *args: None)
    target = predictor.configuration_manager.spacing
    shape = [round(n * s / t) for n, s, t in zip(image.GetSize()[::-1], image.GetSpacing()[::-1], target)]
    return len(predictor._internal_get_sliding_window_slicers(shape))


PASS_VARIANTS = (  # name, backend, bf16 (PyTorch: autocast; OpenVINO: the precision hint), int8 (OpenVINO)
    ("torch fp32", "torch", False, False),
    ("torch bf16", "torch", True, False),  # float32 on a CPU without native bfloat16 (nnunet_predictor)
    ("openvino fp32", "openvino", False, False),
    ("openvino bf16 hint", "openvino", True, False),
    ("onnxruntime fp32", "onnxruntime", False, False),
    # quantised with NNCF once per checkpoint (the first run's load_seconds include it); the layers left
    # unquantised in float32, then with the bf16 hint
    ("openvino int8", "openvino", False, True),
    ("openvino int8, bf16 hint", "openvino", True, True),
)


def seconds_per_pass(model, repeats: int, say) -> dict:
    """One network pass of a patch (random values) per backend and precision: median of `repeats` after
    a warm-up, the precision that really ran, the largest difference from PyTorch fp32's logits, and the
    seconds to make the predictor (export, quantisation and compilation where not cached)."""
    timings, reference = {}, None
    for name, backend, bf16, int8 in PASS_VARIANTS:
        started = time.perf_counter()
        predictor = nnunet_predictor(model, False, 1.0, bf16, torch.device("cpu"), lambda *args: None, backend, int8)
        load_seconds = round(time.perf_counter() - started, 1)
        patch = torch.randn(1, len(model.channels), *predictor.configuration_manager.patch_size,
                            generator=torch.Generator().manual_seed(0))  # fmt: skip
        autocast = predictor.backend_record == {"backend": "torch", "precision": "bf16"}  # native bf16 only
        with torch.inference_mode(), torch.autocast("cpu", torch.bfloat16, enabled=autocast):
            logits = predictor.network(patch).float()  # warm-up
            _, timing = repeated(lambda network=predictor.network, patch=patch: network(patch), repeats)
        reference = logits if reference is None else reference
        timings[name] = {
            **timing,
            "precision": predictor.backend_record["precision"],
            "max_abs_difference_from_torch_fp32": round(float((logits - reference).abs().max()), 4),
            "load_seconds": load_seconds,
            "quantisation_seconds": predictor.backend_record.get("quantisation_seconds"),  # None: cached or none
        }
        say(f"one pass, {name}: {timings[name]}")
    return timings
