"""Segmentation with a KiTS-sized model on a 512 x 512 x 120 arterial volume, on 2 CPU threads or a CUDA
GPU (`--device`), in three parts (`--only`): `paths`, the fast path's time with and without a point, with
the default options first, then without box growth, then with --int8 on a CPU or nnU-Net's whole-volume
default path on a GPU; `passes`, one 128^3 network pass in each backend and precision and, on a CPU, the
default path's time projected (its passes x one pass, plus its cost around the network, measured:
default_path_projection); `agreement`, how well the fast path and the backends agree
with the default path (tumor Dice on held-out phantoms, with the trained demo model: a random-weight
model's output says nothing). Each timing is the median of `repeats` runs, with its minimum and
maximum."""

import time
from functools import partial

import SimpleITK as sitk
import torch

from RenalMassAILib.bench.bench_case import bench_cache, bench_case, cache_key
from RenalMassAILib.bench.default_path_projection import projected, without_network
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
from RenalMassAILib.torch_device import torch_device
from RenalMassAILib.torch_threads import torch_threads

PARTS = ("paths", "passes", "agreement")


def run(size=(512, 512, 120), repeats: int = 1, log=None, device: str = "auto", parts=PARTS) -> dict:
    """The segmentation benchmark on 2 torch threads (this machine's cores); the caller's setting is kept.
    device: as `segment --device` ('cuda' refused in one line without a GPU); parts: which of PARTS."""
    chosen = torch_device(device)
    with torch_threads(2):
        return _run(size, repeats, log, chosen, tuple(parts))


def _run(size, repeats: int, log, device: torch.device, parts: tuple[str, ...]) -> dict:
    say = log or (lambda message: None)
    demo = demo_segmentation_model()
    template = [(demo / name).read_text() for name in ("plans.json", "dataset.json")]
    model = open_segmentation_model(kits_sized_model(bench_cache() / f"kits-sized-model-{cache_key(template)}", demo))
    paths, _ = bench_case(size, log=say)
    arterial = sitk.ReadImage(str(paths["arterial"]))
    result = {
        "benchmark": "segmentation",
        "device": device.type,
        "parts": list(parts),
        "size": list(size),
        "spacing_mm": list(arterial.GetSpacing()),
        "kits_sized_model": "3d_fullres, patch 128^3, 32 base features, 6 stages (random weights)",
        "repeats": max(repeats, 1),
    }
    if "paths" in parts:
        result.update(_paths(model, arterial, paths, device, repeats, say))
    if "passes" in parts:
        result["seconds_per_pass"] = passes = seconds_per_pass(model, repeats, say, device)
        if device.type == "cpu":  # on a GPU the default path is timed among the paths
            result.update(_default_path_projected(model, arterial, passes, repeats, say))
    if "agreement" in parts:
        say("agreement with the default path (demo model, held-out phantoms) ...")
        rows = measure_agreement(demo, log=say)
        result.update(agreement=rows, agreement_summary=summary(rows))
    return result


def _path_options(device: torch.device) -> tuple:
    """(name, with a point, options) of each timed path: the default options first (what a user gets;
    the random weights label every face of the first box, so it grows to the cap: the worst case), then
    without growth; on the CPU also with --int8; on a GPU also nnU-Net's whole-volume default path."""
    on = device.type
    rows = [
        ("point_default_options", True, SegmentationOptions(device=on)),
        ("no_point_default_options", False, SegmentationOptions(device=on)),
        ("point_no_growth", True, SegmentationOptions(grow=False, device=on)),  # the mass inside the first box
        ("no_point_no_growth", False, SegmentationOptions(grow=False, device=on)),
    ]
    if on == "cpu":
        rows += [
            ("point_default_options_int8", True, SegmentationOptions(int8=True, device=on)),
            ("no_point_default_options_int8", False, SegmentationOptions(int8=True, device=on)),
        ]
    else:  # minutes on a GPU, hours on 2 CPU cores (projected there from one pass instead)
        whole_volume = SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, device=on)
        rows += [("whole_volume_default", False, whole_volume)]
    return tuple(rows)


def _paths(model, arterial: sitk.Image, paths: dict, device: torch.device, repeats: int, say) -> dict:
    case = Case({Phase.ARTERIAL: arterial}, {}, "bench")
    labels = to_label_map(sitk.ReadImage(str(paths["segmentation"])), arterial)
    center = find_lesions(labels, body_midline_x(arterial))[0].centroid_lps
    # paid once per process (nnU-Net's imports) and once per checkpoint (the export for OpenVINO); timed
    # apart so that the first path below is not charged for it
    started = time.perf_counter()
    nnunet_predictor(model, None, 1.0, True, device, lambda *args: None, "auto")
    timings = {"first_load_seconds": round(time.perf_counter() - started, 2)}
    say(f"first load (imports, export once per checkpoint): {timings['first_load_seconds']} s")
    for name, with_point, options in _path_options(device):
        say(f"{name} ...")
        point = center if with_point else None
        result, timing = repeated(lambda point=point, options=options: segment(case, model, point, options), repeats)
        timings[name] = {
            **timing,
            "regions": result.regions,
            "forward_passes": result.forward_passes,
            "growths": result.growths,
            "backend": result.backend,
        }
        say(f"{name}: {timings[name]}")
    return timings


def _default_path_projected(model, arterial: sitk.Image, passes: dict, repeats: int, say) -> dict:
    """nnU-Net's whole-volume default path on this CPU (hours): the passes it makes times one pass in
    PyTorch fp32 (nnU-Net's own) and in OpenVINO with the bf16 hint (what `segment --whole-volume` runs
    here), plus its cost around the network, measured (default_path_projection)."""
    say("default path with the network taken out (preprocessing, sliding-window aggregation, export) ...")
    around = without_network(Case({Phase.ARTERIAL: arterial}, {}, "bench"), model, repeats)
    say(f"default path around the network: {around}")
    rows = {name: projected(around, passes[name]["seconds"]) for name in ("torch fp32", "openvino bf16 hint")}
    for name, row in rows.items():
        say(f"default path, {name}: {row['seconds'] / 60:.0f} min (projected: {row})")
    return {"default_path_around_network": around, "default_path_projected": rows}


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
CUDA_PASS_VARIANTS = (  # on a GPU: PyTorch only; nnU-Net's own float16 autocast, as its sliding window runs
    ("torch fp32", "torch", False, False),
    ("torch f16 autocast (nnU-Net on CUDA)", "torch", True, False),
)


def seconds_per_pass(model, repeats: int, say, device: torch.device) -> dict:
    """One network pass of a patch (random values) per backend and precision on the device: median of
    `repeats` after a warm-up, the precision that really ran, the largest difference from PyTorch fp32's
    logits, and the seconds to make the predictor (export, quantisation and compilation where not cached)."""
    timings, reference = {}, None
    for name, backend, bf16, int8 in CUDA_PASS_VARIANTS if device.type == "cuda" else PASS_VARIANTS:
        started = time.perf_counter()
        predictor = nnunet_predictor(model, False, 1.0, bf16, device, lambda *args: None, backend, int8)
        load_seconds = round(time.perf_counter() - started, 1)
        patch = torch.randn(1, len(model.channels), *predictor.configuration_manager.patch_size,
                            generator=torch.Generator().manual_seed(0)).to(device)  # fmt: skip
        network = predictor.network.to(device) if backend == "torch" else predictor.network
        autocast = _autocast_dtype(predictor.backend_record, device, bf16)
        logits = _pass(network, patch, device, autocast).float().cpu()  # warm-up
        step = partial(_pass, network, patch, device, autocast)
        _, timing = repeated(step, repeats)
        reference = logits if reference is None else reference
        timings[name] = {
            **timing,
            "precision": predictor.backend_record["precision"] if autocast or backend != "torch" else "f32",
            "max_abs_difference_from_torch_fp32": round(float((logits - reference).abs().max()), 4),
            "load_seconds": load_seconds,
            "quantisation_seconds": predictor.backend_record.get("quantisation_seconds"),  # None: cached or none
        }
        say(f"one pass, {name}: {timings[name]}")
    return timings


def _autocast_dtype(record: dict, device: torch.device, asked: bool):
    """The autocast the segmentation itself runs the network under: bf16 on a CPU with native bfloat16
    (nnunet_predictor), nnU-Net's float16 on CUDA; None for float32 and for exported networks."""
    if record == {"backend": "torch", "precision": "bf16"}:
        return torch.bfloat16
    return torch.float16 if device.type == "cuda" and asked else None


def _pass(network, patch: torch.Tensor, device: torch.device, autocast) -> torch.Tensor:
    with torch.inference_mode(), torch.autocast(device.type, autocast or torch.float32, enabled=autocast is not None):
        logits = network(patch)
    if device.type == "cuda":
        torch.cuda.synchronize()  # the pass has run, not only been queued
    return logits
