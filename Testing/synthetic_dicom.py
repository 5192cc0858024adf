"""CT slices written with pydicom for tests: any position, orientation and tags, so tests can make
the series scanners produce (gantry tilt, uneven gaps, repeated positions) with known contents."""

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

ROOT = "1.2.826.0.1.3680043.10.1462."


def write_ct_slice(
    path,
    pixels: np.ndarray,
    position,
    orientation=(1, 0, 0, 0, 1, 0),
    pixel_mm=(1.0, 1.0),
    series_uid: str = ROOT + "7",
    instance: int = 1,
    **tags,
) -> Path:
    """One CT Image Storage file; pixels (rows, columns) are HU stored as int16 (slope 1, intercept 0)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = tags.pop("SOPClassUID", CTImageStorage)
    meta.MediaStorageSOPInstanceUID = generate_uid(prefix=ROOT)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = pydicom.Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    ds.Modality, ds.ImageType = "CT", ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.PatientID, ds.StudyInstanceUID, ds.SeriesInstanceUID = "SYNTHETIC", ROOT + "1", series_uid
    ds.SeriesNumber, ds.InstanceNumber, ds.SeriesDescription = 7, instance, "Abdomen"
    ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
    ds.ImageOrientationPatient = [f"{v:.7f}" for v in orientation]
    ds.PixelSpacing = [f"{v:g}" for v in pixel_mm]
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.PixelData = np.round(pixels).astype("<i2").tobytes()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def plane_points(position, orientation, pixel_mm, shape) -> np.ndarray:
    """LPS points (rows, columns, 3) of a slice's pixels (DICOM: row direction = along the columns)."""
    row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    j, i = np.mgrid[0 : shape[0], 0 : shape[1]]
    return np.asarray(position, float) + i[..., None] * pixel_mm[1] * row + j[..., None] * pixel_mm[0] * column


def write_series(
    folder, field, positions, orientation=(1, 0, 0, 0, 1, 0), pixel_mm=(1.0, 1.0), shape=(40, 48), **tags
) -> list[Path]:
    """One file per position, pixels = field(LPS points) sampled on each slice plane."""
    return [
        write_ct_slice(
            Path(folder) / f"IM{k:04d}",
            field(plane_points(p, orientation, pixel_mm, shape)),
            p,
            orientation,
            pixel_mm,
            instance=k + 1,
            **tags,
        )
        for k, p in enumerate(positions)
    ]
