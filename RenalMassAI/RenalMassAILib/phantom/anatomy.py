"""The phantom's anatomy: an ordered list of tissue layers in body coordinates (LPS, mm).

Body coordinates are the reference (arterial) phase's physical space: x to the patient's left,
y posterior, z superior; the kidney hila lie near z = 0. Later layers paint over earlier ones.
"""

import dataclasses

import numpy as np

from RenalMassAILib.phantom.pathology import SUBTYPES
from RenalMassAILib.phantom.shapes import (
    Cylinder,
    Difference,
    Ellipsoid,
    Perturbed,
    Shape,
    Slab,
    SmoothField,
    Textured,
    rotation_matrix,
)
from RenalMassAILib.phantom.tissues import TISSUES

KIDNEY, TUMOR, CYST = 1, 2, 3
TEXTURE_WAVELENGTH_MM = 12.0


@dataclasses.dataclass(frozen=True)
class Layer:
    shape: Shape
    hu: tuple[float, float, float]  # this patient's mean HU in N, A, V
    texture_hu: float = 0.0
    field: SmoothField | None = None
    label: int = 0  # label-map value painted where the layer covers >= half a voxel (0: none)


@dataclasses.dataclass(frozen=True)
class Anatomy:
    layers: list[Layer]
    lesion: Shape
    lesion_side: str


class _Patient:
    """Per-patient draws: each tissue's mean HU and its texture field."""

    def __init__(self, rng: np.random.Generator, variability: float = 1.0):
        self.rng = rng
        self.variability = variability
        self._tissues = {}

    def layer(
        self, shape: Shape, tissue: str, label: int = 0, texture_scale: float = 1.0, hu_shift=(0.0, 0.0, 0.0)
    ) -> Layer:
        if tissue not in self._tissues:
            spec = TISSUES[tissue]
            draw = self.rng.normal() * self.variability
            hu = tuple(m + s * draw for m, s in zip(spec.hu, spec.spread))
            field = SmoothField(self.rng, TEXTURE_WAVELENGTH_MM) if spec.texture else None
            self._tissues[tissue] = (hu, spec.texture, field)
        hu, texture, field = self._tissues[tissue]
        hu = tuple(h + d for h, d in zip(hu, hu_shift))
        return Layer(shape, hu, texture * texture_scale, field, label)


def build_anatomy(spec, rng: np.random.Generator) -> Anatomy:
    patient = _Patient(rng, spec.variability)
    jitter = lambda scale: rng.uniform(-scale, scale)  # noqa: E731
    layers = [
        patient.layer(Cylinder((0, 10), (165 + jitter(8), 120 + jitter(6))), "fat"),
        patient.layer(Cylinder((0, 10), (150, 106)), "muscle"),
        patient.layer(Cylinder((0, 8), (138, 94)), "fat"),
        patient.layer(Ellipsoid((-70, -5, 95), (95, 80, 85)), "liver"),
        patient.layer(Ellipsoid((95, 30, 90), (40, 55, 60)), "spleen"),
    ]
    for z in np.arange(-330, 330, 60.0):  # bowel loops vary along z (registration needs that)
        layers.append(patient.layer(Ellipsoid((jitter(60), -55 + jitter(15), z + jitter(10)), (28, 18, 22)), "bowel"))
    layers += _spine(patient)
    layers += [
        patient.layer(Ellipsoid((45, 62, -150), (20, 22, 190)), "muscle"),  # psoas, widening downwards
        patient.layer(Ellipsoid((-45, 62, -150), (20, 22, 190)), "muscle"),
        patient.layer(Cylinder((48, 100), (30, 20)), "muscle"),  # paraspinal
        patient.layer(Cylinder((-48, 100), (30, 20)), "muscle"),
        patient.layer(Cylinder((15, 28), (11, 11)), "aorta"),
        patient.layer(Cylinder((-25, 22), (12, 13)), "ivc"),
    ]
    side = spec.side or ("left" if rng.random() < 0.5 else "right")
    kidneys = {s: _kidney_frame(s, rng) for s in ("left", "right")}
    for _kidney_side, (center, radii, rotation) in kidneys.items():
        layers += _kidney(patient, center, radii, rotation)
    lesion_shape, lesion_layers = _lesion(spec, patient, rng, *kidneys[side])
    layers += lesion_layers
    other = kidneys["right" if side == "left" else "left"]
    for _ in range(spec.extra_cysts):
        layers.append(
            patient.layer(
                _surface_sphere(rng, *other, radius=rng.uniform(5, 10), outward=0.3), "simple_cyst", label=CYST
            )
        )
    return Anatomy(layers, lesion_shape, side)


def _spine(patient: _Patient) -> list[Layer]:
    layers = []
    for top in np.arange(-300, 300, 32.0):
        body = Cylinder((0, 55), (20, 18), top - 26, top)
        layers.append(patient.layer(body, "cortical_bone"))
        layers.append(patient.layer(Cylinder((0, 55), (17.5, 15.5), top - 24.5, top - 1.5), "cancellous_bone"))
        layers.append(patient.layer(Cylinder((0, 55), (20, 18), top, top + 6), "disc"))
        layers.append(patient.layer(Ellipsoid((0, 96, top - 13), (28, 11, 10)), "cortical_bone"))
    layers.append(patient.layer(Cylinder((0, 82), (8, 8)), "csf"))
    return layers


def _kidney_frame(side: str, rng: np.random.Generator):
    """Center, radii and axes (columns: lateral, posterior, long axis) of one kidney."""
    sign = 1.0 if side == "left" else -1.0  # LPS: +x is the patient's left
    center = np.array(
        [
            sign * (75 + rng.uniform(-4, 4)),
            50 + rng.uniform(-4, 4),
            (0.0 if side == "left" else -15.0) + rng.uniform(-5, 5),
        ]
    )
    radii = np.array([28.0, 24.0, 55.0]) * rng.uniform(0.92, 1.08)
    lateral = np.diag([sign, 1.0, 1.0])  # local x points away from the midline
    tilt = rotation_matrix([0, 1, 0], -sign * rng.uniform(8, 18))  # upper pole leans medially
    turn = rotation_matrix([0, 0, 1], sign * rng.uniform(20, 35))  # hilum faces antero-medially
    return center, radii, turn @ tilt @ lateral


def _kidney(patient: _Patient, center, radii, rotation) -> list[Layer]:
    local = lambda offset: center + rotation @ np.asarray(offset)  # noqa: E731
    return [
        patient.layer(Ellipsoid(tuple(center), tuple(radii), rotation), "renal_cortex", label=KIDNEY),
        patient.layer(Ellipsoid(tuple(center), tuple(radii * 0.72), rotation), "renal_medulla"),
        patient.layer(
            Ellipsoid(tuple(local([-0.5 * radii[0], -0.2 * radii[1], 0])), (15, 12, 32), rotation), "sinus_fat"
        ),
        patient.layer(Ellipsoid(tuple(local([-0.55 * radii[0], -0.2 * radii[1], 0])), (7, 6, 16), rotation), "urine"),
    ]


def _surface_point(rng, center, radii, rotation, pole: str | None):
    """A point on the kidney's convex (lateral) surface and the outward normal there."""
    height = {"upper": 0.65, "mid": 0.0, "lower": -0.65}[pole] if pole else rng.uniform(-0.7, 0.7)
    unit = np.array([np.sqrt(1 - height**2), rng.uniform(-0.35, 0.35), height])
    unit /= np.linalg.norm(unit)
    point = center + rotation @ (radii * unit)
    normal = rotation @ (unit / radii)
    return point, normal / np.linalg.norm(normal)


def _surface_sphere(rng, center, radii, rotation, radius: float, outward: float, pole=None) -> Ellipsoid:
    point, normal = _surface_point(rng, center, radii, rotation, pole)
    return Ellipsoid(tuple(point + normal * (outward - 0.5) * 2 * radius), (radius,) * 3)


def _lesion(spec, patient: _Patient, rng, center, radii, rotation) -> tuple[Shape, list[Layer]]:
    radius = spec.diameter_mm / 2
    sphere = _surface_sphere(rng, center, radii, rotation, radius, spec.exophytic, spec.pole)
    label = SUBTYPES[spec.subtype][0]
    field = SmoothField(rng, max(radius, 8.0))
    high_grade = spec.grade >= 3
    outline = Perturbed(sphere, field, 0.08 * radius) if high_grade and label == TUMOR else sphere

    def inner(fraction):
        return Ellipsoid(sphere.center, (radius * fraction,) * 3)

    def septum(normal, half):
        return Slab(sphere.center, tuple(np.asarray(normal) / np.linalg.norm(normal)), half, inner(0.97))

    subtype = spec.subtype
    layers = []
    if subtype in ("ccRCC", "papillary", "chromophobe", "oncocytoma", "fat-poor-AML"):
        tissue = {
            "ccRCC": "ccRCC",
            "papillary": "papillary",
            "chromophobe": "chromophobe",
            "oncocytoma": "oncocytoma",
            "fat-poor-AML": "fat_poor_AML",
        }[subtype]
        # High grade: less arterial enhancement, more heterogeneous.
        shift = (0.0, -30.0, -20.0) if high_grade and subtype in ("ccRCC", "papillary") else (0.0, 0.0, 0.0)
        layers.append(patient.layer(outline, tissue, label, texture_scale=1.6 if high_grade else 1.0, hu_shift=shift))
        if subtype == "oncocytoma":
            layers.append(patient.layer(Textured(inner(0.3), field, -0.4), "oncocytoma_scar"))
        if spec.necrosis:
            layers.append(patient.layer(Textured(inner(0.5), SmoothField(rng, 10.0), -0.5), "necrosis"))
    elif subtype == "classic-AML":
        layers.append(patient.layer(outline, "fat_poor_AML", label))
        layers.append(patient.layer(Textured(inner(0.98), SmoothField(rng, 15.0), -0.3), "AML_fat"))
    else:  # Bosniak cysts and cystic masses
        fluid = "hyperdense_cyst" if subtype == "bosniak-2" and rng.random() < 0.5 else "simple_cyst"
        layers.append(patient.layer(outline, fluid, label))
        wall_mm = {"bosniak-1": 0.0, "bosniak-2": 0.0, "bosniak-2F": 1.5, "bosniak-3": 4.0, "bosniak-4": 4.0}[subtype]
        septa = {
            "bosniak-1": (),
            "bosniak-2": (0.5,),
            "bosniak-2F": (1.2, 1.2, 1.2),
            "bosniak-3": (2.0, 2.0),
            "bosniak-4": (2.0,),
        }[subtype]
        if wall_mm:
            layers.append(patient.layer(Difference(sphere, inner(1 - wall_mm / radius)), "cyst_wall"))
        for half in septa:
            layers.append(patient.layer(septum(rng.normal(size=3), half), "cyst_wall"))
        if subtype == "bosniak-4":
            offset = rng.normal(size=3)
            nodule_center = np.asarray(sphere.center) + 0.6 * radius * offset / np.linalg.norm(offset)
            layers.append(patient.layer(Ellipsoid(tuple(nodule_center), (0.4 * radius,) * 3), "ccRCC"))
    return outline, layers
