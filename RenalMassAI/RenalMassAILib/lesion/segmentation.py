"""Kidney / tumour / cyst segmentation through nnU-Net v2's own predictor, with a fast CPU path.

Fast path (default): only boxes around the kidney of interest are segmented (around a user point,
or around each kidney found by a coarse localisation that costs a second), no mirroring, bfloat16
autocast on the CPU. The whole-volume path with mirroring stays available (what a GPU user wants).
"""

import dataclasses
import os
import time
from typing import Callable

import numpy as np
import SimpleITK as sitk
import torch

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.registration import crop_to_box
from RenalMassAILib.lesion.kidney_localisation import locate_kidneys
from RenalMassAILib.lesion.label_map import KITS_LABELS, LabelMap
from RenalMassAILib.lesion.nnunet_model import SegmentationModel, to_kits_values

# Holds a whole kidney with its mass and some margin; boxes around located kidneys are never smaller
# (a crop much smaller than the network's patch gives it padding instead of anatomy as context).
ROI_MM = (160.0, 160.0, 160.0)

Progress = Callable[[str, int, int, str], None]  # stage, step, steps, message


@dataclasses.dataclass(frozen=True)
class SegmentationOptions:
    fast: bool = True
    roi_mm: tuple[float, float, float] = ROI_MM
    mirroring: bool = False
    tile_step_size: float = 1.0  # fewest passes that cover the region (nnU-Net default: 0.5)
    bf16: bool = True  # autocast on the CPU (nnU-Net never does it there by itself)
    device: str = "auto"  # 'auto', 'cpu' or 'cuda'
    threads: int | None = None


@dataclasses.dataclass(frozen=True)
class SegmentationResult:
    label_map: LabelMap  # on the reference grid, kidney 1, tumor 2, cyst 3
    volumes_ml: dict[str, float]
    regions: int  # boxes segmented (1 for the whole volume)
    forward_passes: int
    seconds: float


def segment(case: Case, model: SegmentationModel, center_lps=None, options: SegmentationOptions = SegmentationOptions(),
            progress: Progress | None = None) -> SegmentationResult:
    start = time.perf_counter()
    report = progress or (lambda *args: None)
    device = _device(options.device)
    if options.threads:
        torch.set_num_threads(options.threads)
    reference = case.reference
    boxes = []
    if options.fast:
        boxes = [(np.asarray(center_lps, dtype=float), np.asarray(options.roi_mm))] if center_lps is not None \
            else [(centre, np.maximum(size, options.roi_mm)) for centre, size in locate_kidneys(reference)]
        if not boxes:
            report("localise", 1, 1, "no kidney found by the coarse localisation: segmenting the whole volume")
    grids = [crop_to_box(reference, c, size) for c, size in boxes] or [reference]
    if boxes:
        report("localise", 1, 1, f"{len(grids)} region(s) around "
                                 f"{'the given point' if center_lps is not None else 'the kidneys found'}")
    predictor = _predictor(model, options, device, report)
    values = np.zeros(sitk.GetArrayViewFromImage(reference).shape, dtype=np.uint8)
    lookup = np.zeros(256, dtype=np.uint8)
    for output, ours in to_kits_values(model.output_values).items():
        lookup[output] = ours
    for number, grid in enumerate(grids, start=1):
        report("predict", 0, 0, f"region {number} of {len(grids)}")
        channels = np.stack([_on_grid(case.images[p], grid) for p in model.channel_phases(case.reference_phase)])
        spacing = list(grid.GetSpacing())[::-1]  # nnU-Net's SimpleITK reader order: z, y, x
        labels = predictor.predict_single_npy_array(channels, {"spacing": spacing})
        _paste(values, lookup[np.asarray(labels, dtype=np.uint8)], grid, reference)
    image = sitk.GetImageFromArray(values)
    image.CopyInformation(reference)
    voxel_ml = float(np.prod(reference.GetSpacing())) / 1000.0
    volumes = {name: round(float((values == value).sum()) * voxel_ml, 3) for name, value in KITS_LABELS.items()}
    report("segmented", 1, 1, "segmentation finished")
    return SegmentationResult(LabelMap(image), volumes, len(grids), predictor.steps_done, time.perf_counter() - start)


def _device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _on_grid(image: sitk.Image, grid: sitk.Image) -> np.ndarray:
    """A phase sampled in physical space on the grid (linear; air outside its field of view)."""
    return sitk.GetArrayFromImage(sitk.Resample(image, grid, sitk.Transform(), sitk.sitkLinear, -1024.0,
                                                sitk.sitkFloat32))


def _paste(values: np.ndarray, labels: np.ndarray, grid: sitk.Image, reference: sitk.Image) -> None:
    """Writes a region's labels into the whole label array (regions are index-aligned crops)."""
    i, j, k = reference.TransformPhysicalPointToIndex(grid.GetOrigin())
    target = values[k:k + labels.shape[0], j:j + labels.shape[1], i:i + labels.shape[2]]
    np.copyto(target, labels, where=labels > 0)


def _predictor(model: SegmentationModel, options: SegmentationOptions, device: torch.device, report: Progress):
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    class ReportingPredictor(nnUNetPredictor):
        """nnU-Net's predictor, reporting each sliding-window step, with bf16 autocast on the CPU."""

        steps_done = 0
        steps_total = 0

        def _internal_get_sliding_window_slicers(self, image_size):
            slicers = super()._internal_get_sliding_window_slicers(image_size)
            self.steps_total, self.region_steps = len(slicers), 0
            return slicers

        def _internal_maybe_mirror_and_predict(self, x):
            autocast = options.bf16 and device.type == "cpu"
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                prediction = super()._internal_maybe_mirror_and_predict(x)
            self.steps_done += 1
            self.region_steps += 1
            report("predict", self.region_steps, self.steps_total, "sliding window")
            return prediction.float()

    predictor = ReportingPredictor(tile_step_size=options.tile_step_size, use_gaussian=True,
                                   use_mirroring=options.mirroring, perform_everything_on_device=device.type == "cuda",
                                   device=device, verbose=False, verbose_preprocessing=False, allow_tqdm=False)
    os.environ.setdefault("nnUNet_def_n_proc", "1")
    report("load", 0, 1, f"loading {model.folder.name}")
    predictor.initialize_from_trained_model_folder(str(model.folder), model.folds, model.checkpoint)
    report("load", 1, 1, "model loaded")
    return predictor
