"""A PNG strip of the model inputs (N | A | V), to look at what the network receives."""

import numpy as np
import SimpleITK as sitk


def write_input_strip(patches: list[np.ndarray], path) -> None:
    gap = np.ones((patches[0].shape[0], 4), dtype=np.float32)
    strip = np.concatenate([part for patch in patches for part in (patch, gap)][:-1], axis=1)
    sitk.WriteImage(sitk.GetImageFromArray((np.clip(strip, 0, 1) * 255).astype(np.uint8)), str(path))
