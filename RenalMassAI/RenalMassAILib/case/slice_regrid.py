"""Putting decoded slices onto a regular grid in physical space.

A regular stack keeps its voxels. A tilted stack (slice positions drift in the slice plane) has
each slice shifted in its plane onto one common in-plane grid that covers them all; an uneven stack
is interpolated along the normal onto the usual spacing. Both linear; both leave the slices'
orientation as it is, so the grid's axes are the row, column and normal directions (orthogonal).
"""

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

from RenalMassAILib.case.slice_geometry import SliceStack

OUTSIDE_HU = -1024.0  # air where a shifted slice does not reach


def stack_to_image(slices: np.ndarray, stack: SliceStack) -> sitk.Image:
    """slices: (slice, row, column) in the order of stack.headers, in HU."""
    origin = np.array(stack.headers[0].position, float)
    if stack.tilted:
        slices, origin = _shift_in_plane(slices.astype(np.float32), stack, origin)
    if stack.uneven:
        slices = _even_along_normal(slices.astype(np.float32), np.asarray(stack.along_normal), stack.slice_spacing)
    image = sitk.GetImageFromArray(slices)
    image.SetOrigin(tuple(float(c) for c in origin))
    image.SetSpacing((stack.column_spacing, stack.row_spacing, stack.slice_spacing))
    # ITK direction: columns are the index axes (i along the row direction, j along the column one).
    axes = np.column_stack([stack.row_direction, stack.column_direction, stack.normal])
    image.SetDirection(tuple(float(v) for v in axes.flatten()))
    return image


def _shift_in_plane(slices: np.ndarray, stack: SliceStack, origin: np.ndarray):
    """Each slice moved by its position's in-plane offset onto a canvas covering every slice."""
    offsets = np.asarray(stack.in_plane)  # mm along row direction (columns), column direction (rows)
    low = offsets.min(axis=0)
    pixel = np.array([stack.column_spacing, stack.row_spacing])
    extra = np.ceil((offsets.max(axis=0) - low) / pixel - 1e-6).astype(int)  # (columns, rows) to add
    rows, columns = slices.shape[1:]
    canvas = np.full((len(slices), rows + extra[1], columns + extra[0]), OUTSIDE_HU, np.float32)
    for k, (offset, image) in enumerate(zip(offsets, slices, strict=True)):
        placed = np.full(canvas.shape[1:], OUTSIDE_HU, np.float32)
        placed[:rows, :columns] = image
        shift_columns, shift_rows = (offset - low) / pixel
        canvas[k] = ndimage.shift(placed, (shift_rows, shift_columns), order=1, mode="constant", cval=OUTSIDE_HU)
    row, column = np.asarray(stack.row_direction), np.asarray(stack.column_direction)
    return canvas, origin + low[0] * row + low[1] * column


def _even_along_normal(slices: np.ndarray, along: np.ndarray, spacing: float) -> np.ndarray:
    """Linear interpolation between the two nearest slices at every multiple of spacing."""
    count = int(np.floor(along[-1] / spacing + 1e-6)) + 1
    targets = np.arange(count) * spacing
    upper = np.clip(np.searchsorted(along, targets, side="right"), 1, len(along) - 1)
    lower = upper - 1
    weight = ((targets - along[lower]) / (along[upper] - along[lower])).astype(np.float32)
    weight = np.clip(weight, 0.0, 1.0)[:, None, None]
    return (1 - weight) * slices[lower] + weight * slices[upper]
