"""Kidney / tumor / cyst segmentation through nnU-Net v2's own predictor, with a fast CPU path.

Fast path (default): only boxes around the kidney of interest are segmented (around a user point, or
around each kidney found by a coarse localisation that costs a second); each box starts as one network
patch (larger for a larger kidney) and grows once if the segmentation reaches its border (decided on one
unmirrored pass per tile; see segmentation_region); test-time mirroring only as far as a budget of
network passes per box allows; the network's passes in OpenVINO where it is installed (float32 on an
AVX2 CPU, 1.7x PyTorch's speed; bfloat16 on CPUs that run it natively, 5.7x on one with AMX). The
whole-volume path with mirroring stays available (what a GPU user wants).

The model reads its phases on the reference grid in the reference's anatomy: a phase other than the
reference is registered onto it first (segmentation_inputs), so the label map lies where the reference
shows the kidney and mass. Callers that pass phases already aligned onto the reference grid (the CLI
does, to record the registration) say so with register_phases=False.
"""

import dataclasses
import time
from collections.abc import Callable

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.alignment import PhaseAlignment
from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.lesion.kidney_localisation import locate_kidneys
from RenalMassAILib.lesion.label_map import KITS_LABELS, LabelMap
from RenalMassAILib.lesion.nnunet_model import SegmentationModel, to_kits_values
from RenalMassAILib.lesion.nnunet_predictor import nnunet_predictor
from RenalMassAILib.lesion.segmentation_inputs import align_for_segmentation
from RenalMassAILib.lesion.segmentation_region import (
    MAX_GROWTH_ROUNDS,
    MAX_PATCHES_PER_AXIS,
    Region,
    filled,
    grown,
    patch_voxels,
    region_around,
    size_in_voxels,
)
from RenalMassAILib.torch_device import torch_device
from RenalMassAILib.torch_threads import torch_threads

Progress = Callable[[str, int, int, str], None]  # stage, step, steps, message


@dataclasses.dataclass(frozen=True)
class SegmentationOptions:
    fast: bool = True
    region_mm: tuple[float, float, float] | None = None  # starting box (LPS mm); None: one network patch
    grow: bool = True  # grow a box when the segmentation reaches its border
    mirroring: bool | None = None  # test-time mirroring: None within a budget of passes per box (nnunet_predictor)
    tile_step_size: float = 1.0  # fewest passes that cover the region (nnU-Net default: 0.5)
    bf16: bool = True  # autocast on a CPU with native bf16 (nnU-Net never does it there); OpenVINO's precision hint
    backend: str = "auto"  # network passes in 'torch', 'openvino', 'onnxruntime'; 'auto': exported_network
    int8: bool = False  # OpenVINO's INT8 model (lesion/int8_network.py, quantised once per checkpoint); OpenVINO only
    device: str = "auto"  # 'auto', 'cpu' or 'cuda'
    threads: int | None = None
    register_phases: bool = True  # register the phases read onto the reference (False: the caller already did)


@dataclasses.dataclass(frozen=True)
class SegmentationResult:
    label_map: LabelMap  # on the reference grid, kidney 1, tumor 2, cyst 3
    volumes_ml: dict[str, float]
    regions: int  # boxes segmented (1 for the whole volume)
    forward_passes: int  # network passes run, mirrors included (a kept box reuses its probe's unmirrored passes)
    seconds: float
    growths: int = 0  # times a box grew because the segmentation reached its border
    boxes: tuple[Region, ...] = ()  # what was segmented, as grown
    alignment: dict = dataclasses.field(
        default_factory=dict
    )  # phase letter -> how it was registered onto the reference
    whole_volume_fallback: bool = False  # fast path, but no kidney found: the whole volume was segmented
    backend: dict = dataclasses.field(default_factory=dict)  # what ran the network: backend, precision


def segment(
    case: Case,
    model: SegmentationModel,
    center_lps=None,
    options: SegmentationOptions = SegmentationOptions(),
    progress: Progress | None = None,
) -> SegmentationResult:
    """kidney / tumor / cyst label map on the reference grid; torch's thread count is `options.threads`
    during the call only."""
    with torch_threads(options.threads):
        return _segment(case, model, center_lps, options, progress)


def _segment(case, model, center_lps, options: SegmentationOptions, progress: Progress | None) -> SegmentationResult:
    start = time.perf_counter()
    report = progress or (lambda *args: None)
    device = torch_device(options.device)
    reference = case.reference
    alignments = align_for_segmentation(case, model, center_lps) if options.register_phases else {}
    if alignments:
        report("align", 1, 1, f"registered {', '.join(p.long_name for p in alignments)} onto the reference phase")
    regions = _starting_regions(reference, model, center_lps, options, report) if options.fast else []
    fallback = options.fast and not regions
    regions = regions or [Region((0, 0, 0), reference.GetSize())]
    grows = options.fast and options.grow
    predictor = nnunet_predictor(
        model, options.mirroring, options.tile_step_size, options.bf16, device, report, options.backend, options.int8
    )
    lookup = np.zeros(256, dtype=np.uint8)
    for output, ours in to_kits_values(model.output_values).items():
        lookup[output] = ours
    values = np.zeros(sitk.GetArrayViewFromImage(reference).shape, dtype=np.uint8)
    boxes_predictor = _RegionPredictor(case, alignments, model, predictor, lookup)
    growths, boxes = 0, []
    for number, region in enumerate(regions, start=1):
        name = f"region {number} of {len(regions)}"
        region, labels, grew = boxes_predictor.segment(region, grows, name, report)
        growths, boxes = growths + grew, [*boxes, region]
        _paste(values, labels, region)
    image = sitk.GetImageFromArray(values)
    image.CopyInformation(reference)
    voxel_ml = float(np.prod(reference.GetSpacing())) / 1000.0
    volumes = {name: round(float((values == value).sum()) * voxel_ml, 3) for name, value in KITS_LABELS.items()}
    report("segmented", 1, 1, "segmentation finished")
    return SegmentationResult(
        LabelMap(image),
        volumes,
        len(regions),
        predictor.evaluations,
        time.perf_counter() - start,
        growths,
        tuple(boxes),
        {p.value: a.quality for p, a in alignments.items()},
        fallback,
        predictor.backend_record,
    )


def _starting_regions(
    reference: sitk.Image, model: SegmentationModel, center_lps, options: SegmentationOptions, report: Progress
) -> list[Region]:
    """One box around the point, or one around each kidney the coarse localisation finds, filled to whole
    patches ([] if none)."""
    smallest = (
        size_in_voxels(reference, options.region_mm) if options.region_mm else patch_voxels(reference, model.patch_mm)
    )
    if center_lps is not None:
        report("localise", 1, 1, "1 region around the given point")
        return [region_around(reference, center_lps, smallest)]
    kidneys = locate_kidneys(reference)
    if not kidneys:
        report("localise", 1, 1, "no kidney found by the coarse localisation: segmenting the whole volume")
        return []
    report("localise", 1, 1, f"{len(kidneys)} region(s) around the kidneys found")
    boxes = [
        region_around(reference, center, np.maximum(size_in_voxels(reference, size), smallest))
        for center, size in kidneys
    ]
    return [filled(box, patch_voxels(reference, model.patch_mm), reference.GetSize()) for box in boxes]


@dataclasses.dataclass(frozen=True)
class _RegionPredictor:
    """nnU-Net on boxes of one case: the phases the model reads, aligned onto the reference grid."""

    case: Case
    alignments: dict[Phase, PhaseAlignment]
    model: SegmentationModel
    predictor: object  # nnunet_predictor's nnUNetPredictor
    lookup: np.ndarray  # the model's output value -> this project's (kidney 1, tumor 2, cyst 3)

    def segment(self, region: Region, grows: bool, name: str, report: Progress) -> tuple[Region, np.ndarray, int]:
        """A region's labels and the region, grown if the segmentation reaches its border; also the growths."""
        reference = self.case.reference
        patch = patch_voxels(reference, self.model.patch_mm)
        largest = np.maximum(MAX_PATCHES_PER_AXIS * patch, region.size)
        for round_ in range(MAX_GROWTH_ROUNDS + 1):
            report("predict", 0, 0, f"{name}: {' x '.join(map(str, region.size))} voxels")
            final = not grows or round_ == MAX_GROWTH_ROUNDS
            # whether a box must grow is decided on one pass per tile (probe); the mirrors are spent on the
            # box that is kept only, not on a box about to be replaced by a grown one
            labels = self.predict(region, probe=not final)
            bigger = None if final else grown(region, labels, patch // 2, reference.GetSize(), largest)
            if bigger is None:
                break
            report("grow", round_ + 1, MAX_GROWTH_ROUNDS, "the segmentation reaches the box's border: growing it")
            region = filled(bigger, patch, reference.GetSize())
        if not final and self.predictor.would_mirror:  # a probed box that is kept: now with its mirrors
            labels = self.predict(region)
        return region, labels, round_

    def predict(self, region: Region, probe: bool = False) -> np.ndarray:
        """The region's labels (k, j, i) in this project's values; `probe`: one pass per tile, no mirrors."""
        if probe:
            self.predictor.forget_probe()
        self.predictor.probe = probe
        try:
            return self._predict(region)
        finally:
            self.predictor.probe = False
            if not probe:  # the kept box has reused its probe's passes: the probe's tensors can go
                self.predictor.forget_probe()

    def _predict(self, region: Region) -> np.ndarray:
        grid = region.crop(self.case.reference)
        identity = sitk.Euler3DTransform()
        transforms = {p: a.transform for p, a in self.alignments.items()}
        phases = self.model.channel_phases(self.case.reference_phase)
        channels = np.stack([_on_grid(self.case.images[p], grid, transforms.get(p, identity)) for p in phases])
        spacing = list(grid.GetSpacing())[::-1]  # nnU-Net's SimpleITK reader order: z, y, x
        labels = self.predictor.predict_single_npy_array(channels, {"spacing": spacing})
        return self.lookup[np.asarray(labels, dtype=np.uint8)]


def _on_grid(image: sitk.Image, grid: sitk.Image, transform: sitk.Transform) -> np.ndarray:
    """A phase sampled on the grid through its alignment (grid point -> phase point; linear; air outside
    its field of view)."""
    return sitk.GetArrayFromImage(sitk.Resample(image, grid, transform, sitk.sitkLinear, -1024.0, sitk.sitkFloat32))


def _paste(values: np.ndarray, labels: np.ndarray, region: Region) -> None:
    """Writes a region's labels into the whole label array (other regions' labels stay where it has none)."""
    np.copyto(values[region.array_slices()], labels, where=labels > 0)
