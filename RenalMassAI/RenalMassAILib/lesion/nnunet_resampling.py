"""nnU-Net's default resampling (`resample_data_or_seg_to_shape`) with the same output, faster where CT spends
its time: along the thick-slice axis.

For an anisotropic scan (slices more than 3x thicker than the pixels, most clinical CT) nnU-Net resamples
each slice in-plane and then the slice axis with order 0 (`order_z`). It does the second step with
`map_coordinates` over a full 3-D coordinate grid in float64, although the in-plane coordinates are then
whole numbers: the step only picks, for each new slice, one of the old ones. Here that choice is made once
per slice (by `map_coordinates` itself, on the slice numbers) and the slices are copied. On the grown
256 x 256 x 101 box of a 2.5 mm scan this step and its grids took about 7 s of the 9 s that the
preprocessing and the logits' resampling cost. Everything else (the in-plane resize, every other case) is
nnU-Net's own code.
"""

from functools import partial

import numpy as np
import torch
from scipy.ndimage import map_coordinates


def use_fast_resampling(predictor) -> None:
    """The predictor's configuration (nnU-Net's ConfigurationManager) with fast_resampling's functions for
    the images, the masks and the logits; the plans are unchanged."""
    manager = predictor.configuration_manager

    class FastResampling(type(manager)):
        @property
        def resampling_fn_data(self):
            return fast_resampling(super().resampling_fn_data)

        @property
        def resampling_fn_seg(self):  # at inference: the nonzero mask that nnU-Net's cropping makes
            return fast_resampling(super().resampling_fn_seg)

        @property
        def resampling_fn_probabilities(self):
            return fast_resampling(super().resampling_fn_probabilities)

    predictor.configuration_manager = FastResampling(manager.configuration)


def fast_resampling(function):
    """The plans' resampling function (a partial of nnU-Net's with the plans' kwargs) with the fast slice
    axis where it is nnU-Net's default; any other function is returned as it is."""
    from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape

    if isinstance(function, partial) and function.func is resample_data_or_seg_to_shape:
        return partial(resample_to_shape, *function.args, **function.keywords)
    return function


def resample_to_shape(
    data,
    new_shape,
    current_spacing,
    new_spacing,
    is_seg: bool = False,
    order: int = 3,
    order_z: int = 0,
    force_separate_z=False,
    separate_z_anisotropy_threshold: float | None = None,
):
    """nnU-Net's resample_data_or_seg_to_shape, same arguments and same result."""
    from nnunetv2.configuration import ANISO_THRESHOLD
    from nnunetv2.preprocessing.resampling.default_resampling import (
        determine_do_sep_z_and_axis,
        resample_data_or_seg_to_shape,
    )

    threshold = ANISO_THRESHOLD if separate_z_anisotropy_threshold is None else separate_z_anisotropy_threshold
    if isinstance(data, torch.Tensor):
        data = data.numpy()
    separate, axis = determine_do_sep_z_and_axis(force_separate_z, current_spacing, new_spacing, threshold)
    new_shape = np.asarray(new_shape, dtype=int)
    if not separate or order_z != 0 or data.ndim != 4 or np.array_equal(data.shape[1:], new_shape):
        return resample_data_or_seg_to_shape(
            data, new_shape, current_spacing, new_spacing, is_seg, order, order_z, force_separate_z, threshold
        )
    return _separate_axis(data, new_shape, int(axis), order, is_seg)


def _separate_axis(data: np.ndarray, new_shape: np.ndarray, axis: int, order: int, is_seg: bool) -> np.ndarray:
    """Each slice resized in-plane as nnU-Net does, then the nearest old slice for each new one."""
    from batchgenerators.augmentations.utils import resize_segmentation
    from skimage.transform import resize

    resize_slice = resize_segmentation if is_seg else partial(resize, mode="edge", anti_aliasing=False)
    in_plane = tuple(int(n) for i, n in enumerate(new_shape) if i != axis)
    chosen = _nearest_slices(data.shape[1 + axis], int(new_shape[axis]))
    result = np.zeros((data.shape[0], *new_shape), dtype=data.dtype)
    for channel in range(data.shape[0]):
        volume = np.moveaxis(data[channel].astype(float, copy=False), axis, 0)
        if volume.shape[1:] != in_plane:  # at an unchanged shape both resizes return the slice as it is
            volume = np.stack([resize_slice(s, in_plane, order) for s in volume])
        np.moveaxis(result[channel], axis, 0)[...] = volume[chosen]
    return result


def _nearest_slices(old: int, new: int) -> np.ndarray:
    """For each new slice the old slice that nnU-Net's order-0 map_coordinates picks (same coordinates, same
    rounding: map_coordinates itself, on the slice numbers)."""
    coordinates = (old / new) * (np.arange(new) + 0.5) - 0.5
    picked = map_coordinates(np.arange(old, dtype=float), coordinates[None], order=0, mode="nearest")
    return picked.astype(int)
