"""A PNG panel of the network inputs with their Grad-CAM heat blended in: one row per task,
one column per phase (N, A, V order)."""

import numpy as np
import SimpleITK as sitk


def heat_rgb(heat: np.ndarray) -> np.ndarray:
    """A black-red-yellow-white ramp ('hot') for values in [0, 1]."""
    heat = np.clip(heat, 0.0, 1.0)[..., None]
    return np.clip(np.concatenate([3 * heat, 3 * heat - 1, 3 * heat - 2], axis=-1), 0.0, 1.0)


def blend(patch: np.ndarray, heat: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    grey = np.repeat(np.clip(patch, 0, 1)[..., None], 3, axis=-1)
    weight = opacity * np.clip(heat, 0, 1)[..., None]  # zero heat leaves the image untouched
    return grey * (1 - weight) + heat_rgb(heat) * weight


def write_gradcam_panel(patches: dict[str, np.ndarray], explanations: dict[str, dict[str, np.ndarray]], path) -> None:
    phases = [p for p in ("N", "A", "V") if p in patches]
    rows = []
    for maps in explanations.values():
        tiles = [blend(patches[p], maps.get(p, np.zeros_like(patches[p]))) for p in phases]
        rows.append(np.concatenate([np.pad(t, ((2, 2), (2, 2), (0, 0)), constant_values=1.0) for t in tiles], axis=1))
    panel = (np.concatenate(rows, axis=0) * 255).astype(np.uint8)
    sitk.WriteImage(sitk.GetImageFromArray(panel, isVector=True), str(path))
