"""Rendering a phantom's anatomy onto any voxel grid, in every phase, with noise and partial volume."""

import dataclasses
import os
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.phase import PHASE_ORDER, REFERENCE_ORDER, Phase
from RenalMassAILib.phantom.anatomy import Anatomy, Layer, build_anatomy
from RenalMassAILib.phantom.pathology import SUBTYPES, pathology_class
from RenalMassAILib.phantom.shapes import rotation_matrix

IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)
_SLAB_VOXELS = 2_000_000
_PHASE_INDEX = {Phase.NON_CONTRAST: 0, Phase.ARTERIAL: 1, Phase.VENOUS: 2}


@dataclasses.dataclass(frozen=True)
class PhantomSpec:
    subtype: str = "ccRCC"
    diameter_mm: float = 40.0
    grade: int = 2  # WHO/ISUP 1-4 (RCC subtypes)
    necrosis: bool = False
    side: str | None = None  # 'left' / 'right'; None: drawn from the seed
    pole: str | None = None  # 'upper' / 'mid' / 'lower'; None: drawn from the seed
    # Lesion center along the kidney surface normal: 0 tangent inside (endophytic), 0.5 centered on the
    # surface, 1 tangent outside. The volume share outside is larger (the kidney surface curves away).
    exophytic: float = 0.5
    size: tuple[int, int, int] = (160, 160, 64)
    spacing: tuple[float, float, float] = (2.0, 2.0, 3.0)
    direction: tuple[float, ...] = IDENTITY  # ITK direction matrix, row-major: any orientation
    center_lps: tuple[float, float, float] | None = None  # grid center; default: body center at lesion level
    phases: tuple[str, ...] = ("N", "A", "V")
    misregistration_mm: float = 0.0  # largest random shift of N and V against A
    misregistration_deg: float = 0.0  # largest random rotation of N and V against A
    noise_hu: float = 10.0
    extra_cysts: int = 0  # simple cysts in the other kidney (label 3)
    variability: float = 1.0  # scale of the between-patient spread of each tissue's mean HU
    seed: int = 0

    def __post_init__(self):
        if self.subtype not in SUBTYPES:
            raise ValueError(f"unknown subtype {self.subtype!r}: use one of {sorted(SUBTYPES)}")
        if not 1 <= self.grade <= 4:
            raise ValueError(f"grade {self.grade}: WHO/ISUP grades are 1-4")


@dataclasses.dataclass(frozen=True)
class Phantom:
    spec: PhantomSpec
    images: dict[Phase, sitk.Image]  # int16 HU
    labels: sitk.Image  # uint8 on the grid, in the reference phase's position: kidney 1, tumor 2, cyst 3
    pathology: str  # 'benign', 'indolent' or 'aggressive'
    lesion_center_lps: tuple[float, float, float]  # true center of mass of the lesion
    lesion_side: str
    phase_transforms: dict[Phase, sitk.Transform]  # reference point -> phase point (true misregistration)

    def case(self, case_id: str = "phantom") -> Case:
        return Case(dict(self.images), {}, case_id)

    def write(self, folder: str | os.PathLike) -> dict[str, Path]:
        """NIfTI files named by phase, plus segmentation.nii.gz."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {phase.long_name: folder / f"{phase.long_name}.nii.gz" for phase in self.images}
        for phase, image in self.images.items():
            sitk.WriteImage(image, str(paths[phase.long_name]), useCompression=True)
        paths["segmentation"] = folder / "segmentation.nii.gz"
        sitk.WriteImage(self.labels, str(paths["segmentation"]), useCompression=True)
        return paths


def make_phantom(spec: PhantomSpec = PhantomSpec(), **changes) -> Phantom:
    spec = dataclasses.replace(spec, **changes)
    rng = np.random.default_rng(spec.seed)
    anatomy = build_anatomy(spec, rng)
    center = _lesion_centroid(anatomy)
    default_center = np.array([0.0, 10.0, center[2]])  # body center, at the lesion's level
    grid = _grid(spec, default_center if spec.center_lps is None else np.asarray(spec.center_lps, dtype=float))
    phases = [Phase.parse(p) for p in spec.phases]
    reference = next(p for p in REFERENCE_ORDER if p in phases)
    motions = {p: _motion(rng, spec, center) if p != reference else (np.eye(3), np.zeros(3)) for p in PHASE_ORDER}
    images, labels = {}, None
    for phase in phases:  # phases that did not move share one rendering
        if phase in images:
            continue
        group = [p for p in phases if _same_motion(motions[p], motions[phase])]
        values, group_labels = _render(grid, anatomy.layers, [_PHASE_INDEX[p] for p in group], motions[phase], center)
        labels = group_labels if reference in group else labels
        for p in group:
            hu = values[_PHASE_INDEX[p]]
            hu += (
                np.random.default_rng([spec.seed, _PHASE_INDEX[p]])
                .normal(0, spec.noise_hu, hu.shape)
                .astype(np.float32)
            )
            images[p] = _to_image(np.round(hu).astype(np.int16), grid)
    return Phantom(
        spec=spec,
        images=images,
        labels=_to_image(labels, grid),
        pathology=pathology_class(spec.subtype, spec.grade, spec.necrosis),
        lesion_center_lps=tuple(float(c) for c in center),
        lesion_side=anatomy.lesion_side,
        phase_transforms={p: _transform(*motions[p], center) for p in phases},
    )


@dataclasses.dataclass(frozen=True)
class _Grid:
    size: np.ndarray
    spacing: np.ndarray
    direction: np.ndarray  # 3x3, columns are the index axes in LPS
    origin: np.ndarray


def _grid(spec: PhantomSpec, center: np.ndarray) -> _Grid:
    size = np.asarray(spec.size, dtype=int)
    spacing = np.asarray(spec.spacing, dtype=float)
    direction = np.asarray(spec.direction, dtype=float).reshape(3, 3)
    if not np.allclose(direction @ direction.T, np.eye(3), atol=1e-6):
        raise ValueError("phantom direction must be an orthonormal matrix")
    origin = center - direction @ ((size - 1) / 2 * spacing)
    return _Grid(size, spacing, direction, origin)


def _motion(rng, spec: PhantomSpec, center) -> tuple[np.ndarray, np.ndarray]:
    """A random rigid motion of one phase: rotation about the lesion and a shift."""
    if not spec.misregistration_mm and not spec.misregistration_deg:
        return np.eye(3), np.zeros(3)
    rotation = rotation_matrix(rng.normal(size=3), rng.uniform(-1, 1) * spec.misregistration_deg)
    shift = rng.uniform(-1, 1, size=3) * spec.misregistration_mm
    return rotation, shift


def _same_motion(a, b) -> bool:
    return np.allclose(a[0], b[0]) and np.allclose(a[1], b[1])


def _transform(rotation, shift, center) -> sitk.Transform:
    """Reference point b -> phase point R (b - c) + c + t, as an ITK transform."""
    transform = sitk.Euler3DTransform()
    transform.SetCenter(center.tolist())
    transform.SetMatrix(rotation.flatten().tolist())
    transform.SetTranslation(shift.tolist())
    return transform


def _render(grid: _Grid, layers: list[Layer], phase_indices: list[int], motion, center):
    """HU arrays [k, j, i] for the given phases (one motion) and the label array.

    Voxel index -> body point is affine, so each layer is evaluated only on the index box that can
    hold it, a slab of slices at a time.
    """
    rotation, shift = motion
    scaled = np.diag(grid.spacing) @ grid.direction.T  # row index vector -> LPS offset
    matrix = scaled @ rotation  # phase point p shows body point R^T (p - c - t) + c
    offset = (grid.origin - center - shift) @ rotation + center
    to_index = np.linalg.inv(matrix)
    nx, ny, nz = grid.size
    values = {p: np.full((nz, ny, nx), -1000.0, dtype=np.float32) for p in phase_indices}
    labels = np.zeros((nz, ny, nx), dtype=np.uint8)
    width = float(np.prod(grid.spacing) ** (1 / 3))  # partial-volume blur: about one voxel
    slab = max(1, _SLAB_VOXELS // (nx * ny))
    boxes = [_index_box(layer, to_index, offset, width, grid.size) for layer in layers]
    for k0 in range(0, nz, slab):
        for layer, (low, high) in zip(layers, boxes):
            low_k, high_k = max(low[2], k0), min(high[2], k0 + slab)
            if low_k >= high_k or low[0] >= high[0] or low[1] >= high[1]:
                continue
            block = np.s_[low_k:high_k, low[1] : high[1], low[0] : high[0]]
            k, j, i = np.meshgrid(
                np.arange(low_k, high_k), np.arange(low[1], high[1]), np.arange(low[0], high[0]), indexing="ij"
            )
            points = np.stack([i, j, k], axis=-1).astype(np.float32) @ matrix.astype(np.float32) + offset.astype(
                np.float32
            )
            fraction = np.clip(0.5 - layer.shape.distance(points) / width, 0.0, 1.0)
            if layer.label:
                labels[block] = np.where(fraction >= 0.5, np.uint8(layer.label), labels[block])
            texture = layer.texture_hu * layer.field(points) if layer.texture_hu and layer.field else 0.0
            for p in phase_indices:
                target = values[p][block]
                target += fraction * (np.float32(layer.hu[p]) + texture - target)
    return values, labels


def _index_box(layer: Layer, to_index, offset, width: float, size) -> tuple[np.ndarray, np.ndarray]:
    """Half-open voxel index box [low, high) around a layer's body-space bounds."""
    low, high = layer.shape.bounds()
    corners = np.array([np.where(np.array(signs, bool), high + width, low - width) for signs in np.ndindex(2, 2, 2)])
    index = (corners - offset) @ to_index
    first = np.clip(np.floor(index.min(axis=0)).astype(int) - 1, 0, size)
    last = np.clip(np.ceil(index.max(axis=0)).astype(int) + 2, 0, size)
    return first, last


def _lesion_centroid(anatomy: Anatomy, step_mm: float = 0.5) -> np.ndarray:
    """Center of mass of the lesion shape, integrated on a fine grid (any shape, lobulated too)."""
    low, high = anatomy.lesion.bounds()
    axes = [np.arange(a, b + step_mm, step_mm, dtype=np.float32) for a, b in zip(low, high)]
    points = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
    inside = anatomy.lesion.distance(points) <= 0
    return points[inside].astype(np.float64).mean(axis=0)


def _to_image(array: np.ndarray, grid: _Grid) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    image.SetOrigin(grid.origin.tolist())
    image.SetSpacing(grid.spacing.tolist())
    image.SetDirection(grid.direction.flatten().tolist())
    return image
