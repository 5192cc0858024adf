"""The one place where Slicer's RAS meets the engine's LPS (ITK / DICOM physical space): the two frames
differ by the sign of their first two axes."""

import numpy as np

# Maps LPS to RAS and back (its own inverse); for direction matrices and points alike.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0])


def ras_to_lps(point) -> tuple[float, float, float]:
    return (-float(point[0]), -float(point[1]), float(point[2]))


def lps_to_ras(point) -> tuple[float, float, float]:
    return (-float(point[0]), -float(point[1]), float(point[2]))
