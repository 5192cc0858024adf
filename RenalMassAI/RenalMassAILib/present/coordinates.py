"""The one place where Slicer's RAS meets the engine's LPS (ITK physical space)."""


def ras_to_lps(point) -> tuple[float, float, float]:
    return (-float(point[0]), -float(point[1]), float(point[2]))


def lps_to_ras(point) -> tuple[float, float, float]:
    return (-float(point[0]), -float(point[1]), float(point[2]))
