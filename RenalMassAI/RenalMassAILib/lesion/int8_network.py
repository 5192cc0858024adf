"""INT8 for nnU-Net's network in OpenVINO: post-training quantisation with NNCF of the exported ONNX
network, once per checkpoint and patch size, cached as OpenVINO IR beside the ONNX file in the export
folder (never in the model folder).

Calibration data: patches of the bundled demo case (a phantom CT, Resources/DemoCase) around its
kidneys, as the model's own nnU-Net preprocessing makes them (resampling, normalisation) and its
sliding window cuts them (tile step 0.5), a fixed spread of tiles: the same patches, and the same
quantised model, on every run. Nothing is downloaded.
"""

import contextlib
import itertools
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.nnunet_model import SegmentationModel
from RenalMassAILib.lesion.segmentation_region import Region, patch_voxels

CALIBRATION_PATCHES = 12  # NNCF's statistics settle on a few patches; each costs one fp32 pass while quantising
CALIBRATION_TILE_STEP = 0.5  # nnU-Net's default sliding window: overlapping tiles over the kidneys


def int8_path(onnx_path: Path) -> Path:
    """The quantised model's IR (.xml; its weights in the .bin of the same name) beside the ONNX export,
    named like it (checkpoint SHA-256, patch size, channels) plus 'int8'."""
    return onnx_path.with_name(f"{onnx_path.stem}-int8.xml")


def quantised_network(onnx_path: Path, patches: Callable[[], list[np.ndarray]]) -> tuple[Path, float | None]:
    """The cached INT8 IR of the ONNX network, quantised now if missing (then also the seconds it took,
    else None). patches: makes the calibration patches, called only when quantising."""
    path = int8_path(onnx_path)
    if path.exists() and path.with_suffix(".bin").exists():
        return path, None
    started = time.perf_counter()
    quantise(onnx_path, patches(), path)
    return path, round(time.perf_counter() - started, 1)


def quantise(onnx_path: Path, patches: list[np.ndarray], path: Path) -> None:
    """nncf.quantize on the OpenVINO model read from the ONNX file (MIXED preset: symmetric weights,
    asymmetric activations; closer to float32 than PERFORMANCE on the agreement phantoms), saved as IR at
    `path`: written under partial names and renamed, .bin first, so that an .xml that exists is complete."""
    try:
        import nncf
        import openvino
    except ImportError:
        raise InputError("precision int8: NNCF and OpenVINO are needed; pip install nncf openvino") from None
    model = openvino.Core().read_model(str(onnx_path))
    # NNCF draws its progress bars on stdout, which is the worker's JSON-lines channel and --json's output
    with contextlib.redirect_stdout(sys.stderr):
        quantised = nncf.quantize(
            model, nncf.Dataset(patches), preset=nncf.QuantizationPreset.MIXED, subset_size=len(patches)
        )
    partial = path.with_name(f"{path.stem}.{os.getpid()}.partial.xml")  # two workers quantising at once
    try:
        openvino.save_model(quantised, str(partial), compress_to_fp16=False)  # constants left unquantised stay float32
        partial.with_suffix(".bin").replace(path.with_suffix(".bin"))
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
        partial.with_suffix(".bin").unlink(missing_ok=True)


def calibration_patches(predictor, model: SegmentationModel, count: int = CALIBRATION_PATCHES) -> list[np.ndarray]:
    """`count` network inputs (1, C, *patch), float32: the demo case around its kidneys through the
    predictor's nnU-Net preprocessing, padded and tiled as its sliding window does; tiles evenly spread
    over the window's order."""
    from acvl_utils.cropping_and_padding.padding import pad_nd_image
    from nnunetv2.inference.sliding_window_prediction import compute_steps_for_sliding_window

    channels, spacing = demo_kidneys(model)
    configuration = predictor.configuration_manager
    preprocessor = configuration.preprocessor_class(verbose=False)
    data, _, _ = preprocessor.run_case_npy(
        channels, None, {"spacing": spacing}, predictor.plans_manager, configuration, predictor.dataset_json
    )
    patch = [int(n) for n in configuration.patch_size]
    data = pad_nd_image(data, patch, "constant", {"value": 0}, False, None)
    corners = list(itertools.product(*compute_steps_for_sliding_window(data.shape[1:], patch, CALIBRATION_TILE_STEP)))
    chosen = np.unique(np.linspace(0, len(corners) - 1, min(count, len(corners))).round().astype(int))
    return [_tile(data, corners[i], patch) for i in chosen]


def demo_kidneys(model: SegmentationModel) -> tuple[np.ndarray, list[float]]:
    """The demo case's phases the model reads, as nnU-Net's (C, z, y, x) array with its spacing (z, y, x),
    cropped to its kidneys and mass with half a patch around them (what the fast path segments)."""
    from RenalMassAILib.case.loading import load_case
    from RenalMassAILib.case.phase import Phase
    from RenalMassAILib.resources import demo_case_dir

    folder = demo_case_dir()
    case = load_case({phase: str(folder / f"{phase.long_name}.nii.gz") for phase in Phase}, "demo")
    labels = sitk.GetArrayFromImage(sitk.ReadImage(str(folder / "segmentation.nii.gz")))
    region = _around_labels(labels, patch_voxels(case.reference, model.patch_mm) // 2)
    images = [region.crop(case.images[p]) for p in model.channel_phases(case.reference_phase)]
    return np.stack([sitk.GetArrayFromImage(i).astype(np.float32) for i in images]), list(images[0].GetSpacing())[::-1]


def _around_labels(labels: np.ndarray, margin_ijk: np.ndarray) -> Region:
    """The labelled voxels' bounding box (i, j, k) grown by the margin, within the image."""
    where = np.argwhere(labels > 0)[:, ::-1]  # (k, j, i) -> (i, j, k)
    size = np.asarray(labels.shape[::-1])
    low = np.maximum(where.min(axis=0) - margin_ijk, 0)
    high = np.minimum(where.max(axis=0) + 1 + margin_ijk, size)
    return Region(tuple(int(v) for v in low), tuple(int(v) for v in high))


def _tile(data: np.ndarray, corner, patch) -> np.ndarray:
    window = tuple(slice(c, c + p) for c, p in zip(corner, patch))
    return np.ascontiguousarray(data[(slice(None), *window)][None], dtype=np.float32)
