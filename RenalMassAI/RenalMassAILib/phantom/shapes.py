"""Shapes as approximate signed distances (mm, negative inside) on arrays of points (..., 3)."""

import dataclasses

import numpy as np


class Shape:
    def distance(self, points: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """An LPS box that holds the whole shape (used to skip far-away voxels)."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class Ellipsoid(Shape):
    center: tuple
    radii: tuple
    rotation: np.ndarray | None = None  # columns: the ellipsoid's axes in LPS

    def distance(self, points):
        local = points - np.asarray(self.center, dtype=np.float32)
        if self.rotation is not None:
            local = local @ np.asarray(self.rotation, dtype=np.float32)
        scaled = local / np.asarray(self.radii, dtype=np.float32)
        return (np.sqrt((scaled * scaled).sum(axis=-1)) - 1.0) * min(self.radii)

    def bounds(self):
        reach = max(self.radii)
        return np.asarray(self.center) - reach, np.asarray(self.center) + reach


@dataclasses.dataclass(frozen=True)
class Cylinder(Shape):
    """Elliptic cylinder along z, from z_low to z_high."""

    center_xy: tuple
    radii_xy: tuple
    z_low: float = -1e4
    z_high: float = 1e4

    def distance(self, points):
        scaled = (points[..., :2] - np.asarray(self.center_xy, dtype=np.float32)) / np.asarray(
            self.radii_xy, dtype=np.float32
        )
        radial = (np.sqrt((scaled * scaled).sum(axis=-1)) - 1.0) * min(self.radii_xy)
        z = points[..., 2]
        axial = np.maximum(self.z_low - z, z - self.z_high)
        return np.maximum(radial, axial)

    def bounds(self):
        reach = max(self.radii_xy)
        low = np.array([self.center_xy[0] - reach, self.center_xy[1] - reach, self.z_low])
        high = np.array([self.center_xy[0] + reach, self.center_xy[1] + reach, self.z_high])
        return low, high


@dataclasses.dataclass(frozen=True)
class Intersection(Shape):
    first: Shape
    second: Shape

    def distance(self, points):
        return np.maximum(self.first.distance(points), self.second.distance(points))

    def bounds(self):
        return self.first.bounds()


@dataclasses.dataclass(frozen=True)
class Difference(Shape):
    """Inside `outer` but not inside `hole` (a wall or shell)."""

    outer: Shape
    hole: Shape

    def distance(self, points):
        return np.maximum(self.outer.distance(points), -self.hole.distance(points))

    def bounds(self):
        return self.outer.bounds()


@dataclasses.dataclass(frozen=True)
class Slab(Shape):
    """Points within half_thickness of a plane (through center, with unit normal), inside `within`."""

    center: tuple
    normal: tuple
    half_thickness: float
    within: Shape

    def distance(self, points):
        offset = (points - np.asarray(self.center, dtype=np.float32)) @ np.asarray(self.normal, dtype=np.float32)
        return np.maximum(np.abs(offset) - self.half_thickness, self.within.distance(points))

    def bounds(self):
        return self.within.bounds()


@dataclasses.dataclass(frozen=True)
class Textured(Shape):
    """`base` where a smooth random field exceeds a level (fat islands in an AML, lobulated margins)."""

    base: Shape
    field: "SmoothField"
    level: float = 0.0
    softness_mm: float = 3.0

    def distance(self, points):
        return np.maximum(self.base.distance(points), (self.level - self.field(points)) * self.softness_mm)

    def bounds(self):
        return self.base.bounds()


class SmoothField:
    """A smooth random field, about N(0, 1), defined in physical space: a sum of random plane waves."""

    def __init__(self, rng: np.random.Generator, wavelength_mm: float, waves: int = 16):
        directions = rng.normal(size=(waves, 3))
        directions /= np.linalg.norm(directions, axis=1, keepdims=True)
        wavelengths = wavelength_mm * rng.uniform(0.7, 1.3, size=(waves, 1))
        self.vectors = (2 * np.pi * directions / wavelengths).astype(np.float32)  # (waves, 3)
        self.phases = rng.uniform(0, 2 * np.pi, size=waves).astype(np.float32)
        self.scale = np.float32(np.sqrt(2.0 / waves))

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return np.cos(points @ self.vectors.T + self.phases).sum(axis=-1) * self.scale


@dataclasses.dataclass(frozen=True)
class Perturbed(Shape):
    """`base` with its surface pushed in and out by a smooth field (lobulated tumor margins)."""

    base: Shape
    field: SmoothField
    amplitude_mm: float

    def distance(self, points):
        return self.base.distance(points) - self.amplitude_mm * self.field(points)

    def bounds(self):
        low, high = self.base.bounds()
        return low - 3 * self.amplitude_mm, high + 3 * self.amplitude_mm


def rotation_matrix(axis, degrees: float) -> np.ndarray:
    """Rotation about a unit axis (Rodrigues)."""
    axis = np.asarray(axis, dtype=float)
    axis = axis / np.linalg.norm(axis)
    angle = np.radians(degrees)
    cross = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * cross + (1 - np.cos(angle)) * cross @ cross
