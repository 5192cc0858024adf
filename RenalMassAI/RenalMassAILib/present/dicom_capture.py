"""Secondary-capture images of the annotated screenshots (their findings text and DEMO banner are
burned in), one series, one instance per screenshot."""

from pathlib import Path

import highdicom as hd
import numpy as np
from PIL import Image

from RenalMassAILib import __version__
from RenalMassAILib.present.dicom_source import SourceSeries

# Patient directions of the screen's rows (left to right) and columns (top to bottom) in Slicer's
# standard slice views. The 3D view and the Grad-CAM panels have no single orientation: empty.
VIEW_ORIENTATION = {"axial": ("L", "P"), "coronal": ("L", "F"), "sagittal": ("P", "F")}
SCREENSHOT_ORDER = ("axial", "coronal", "sagittal", "3d")


def capture_order(screenshots: dict[str, str]) -> list[str]:
    """The slice and 3D views first, then the panels (instance numbers follow this order)."""
    return [n for n in SCREENSHOT_ORDER if n in screenshots] + sorted(
        n for n in screenshots if n not in SCREENSHOT_ORDER
    )


def build_capture(
    source: SourceSeries, png: Path, view: str, series_uid: str, sop_uid: str, series_number: int, instance_number: int
) -> hd.sc.SCImage:
    pixels = np.asarray(Image.open(png).convert("RGB"))
    capture = hd.sc.SCImage.from_ref_dataset(
        ref_dataset=source.first,
        pixel_array=pixels,
        photometric_interpretation="RGB",
        bits_allocated=8,
        coordinate_system="PATIENT",
        patient_orientation=VIEW_ORIENTATION.get(view, ("L", "P")),
        series_instance_uid=series_uid,
        sop_instance_uid=sop_uid,
        series_number=series_number,
        instance_number=instance_number,
        manufacturer="RenalMassAI",
        transfer_syntax_uid=hd.UID("1.2.840.10008.1.2.1"),
    )
    if view not in VIEW_ORIENTATION:
        capture.PatientOrientation = ""  # type 2: known to be unknown, rather than a wrong direction
    # type 2C laterality: the source's, else empty (an abdomen CT is not of one side of a paired part)
    capture.Laterality = source.first.get("Laterality", "")
    capture.BurnedInAnnotation = "YES"
    capture.SeriesDescription = "RenalMassAI screenshots"
    capture.DerivationDescription = f"RenalMassAI {__version__} {view} screenshot"
    capture.SoftwareVersions = __version__
    return capture
