"""The header of one DICOM file (read with pydicom, without pixel data): what series selection,
slice geometry and phase detection need."""

import dataclasses
import os
import warnings

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

MEDIA_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR (also Philips' DIRFILE)


@dataclasses.dataclass(frozen=True)
class DicomHeader:
    path: str
    sop_class_uid: str
    modality: str
    image_type: tuple[str, ...]
    series_uid: str
    series_number: str
    description: str
    transfer_syntax: str
    lossy_compression: bool  # (0028,2110) says the pixels were lossy-compressed at some point
    number_of_frames: int
    rows: int
    columns: int
    position: tuple[float, float, float] | None  # Image Position (Patient), mm, LPS
    orientation: tuple[float, ...] | None  # Image Orientation (Patient): row then column direction
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns), mm
    instance_number: int | None
    gantry_tilt: float  # (0018,1120) degrees; 0 when absent
    contrast_agent: str | None  # None: tag absent
    acquisition_date: str | None  # DA, acquisition date else series date else study date
    acquisition_time: str | None  # TM, acquisition time else series time
    acquisition_datetime: str | None  # DT (0008,002A)

    @property
    def series_key(self) -> str:
        """The Series Instance UID; without one (some anonymizers drop it), files of one folder with
        the same series number, matrix and orientation are taken as one series."""
        if self.series_uid:
            return self.series_uid
        orientation = tuple(round(v, 3) for v in self.orientation) if self.orientation else None
        return f"no-uid:{os.path.dirname(self.path)}:{self.series_number}:{self.rows}x{self.columns}:{orientation}"


def read_header(path: str) -> DicomHeader | None:
    """The header of a DICOM file; None when the file is not DICOM (any other file on a CD)."""
    ds = _dataset(path)
    if ds is None:
        return None
    meta = getattr(ds, "file_meta", None)
    sop_class = str(ds.get("SOPClassUID") or (meta.get("MediaStorageSOPClassUID") if meta else "") or "")
    return DicomHeader(
        path=path,
        sop_class_uid=sop_class,
        modality=_text(ds, "Modality").upper(),
        image_type=tuple(v.strip().upper() for v in _values(ds.get("ImageType"))),
        series_uid=_text(ds, "SeriesInstanceUID"),
        series_number=_text(ds, "SeriesNumber"),
        description=_text(ds, "SeriesDescription"),
        transfer_syntax=str(meta.get("TransferSyntaxUID", "")) if meta else "",
        lossy_compression=_text(ds, "LossyImageCompression") == "01",
        number_of_frames=_int(ds.get("NumberOfFrames")) or 1,
        rows=_int(ds.get("Rows")) or 0,
        columns=_int(ds.get("Columns")) or 0,
        position=_floats(ds.get("ImagePositionPatient"), 3),
        orientation=_floats(ds.get("ImageOrientationPatient"), 6),
        pixel_spacing=_floats(ds.get("PixelSpacing"), 2),
        instance_number=_int(ds.get("InstanceNumber")),
        gantry_tilt=(_floats(ds.get("GantryDetectorTilt"), 1) or (0.0,))[0],
        contrast_agent=_text(ds, "ContrastBolusAgent") if "ContrastBolusAgent" in ds else None,
        acquisition_date=_first_text(ds, "AcquisitionDate", "SeriesDate", "StudyDate"),
        acquisition_time=_first_text(ds, "AcquisitionTime", "SeriesTime"),
        acquisition_datetime=_first_text(ds, "AcquisitionDateTime"),
    )


def _dataset(path: str):
    with warnings.catch_warnings():  # pydicom warns on odd values; what matters is checked below
        warnings.simplefilter("ignore")
        return _parsed(path)


def _parsed(path: str):
    """pydicom's header; files without the DICOM preamble (older exports) are accepted when they
    start with a group 0002 or 0008 element and name a SOP Class, which other files do not."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        pass
    except (OSError, EOFError, ValueError, TypeError, KeyError, AttributeError):
        return None
    if not _starts_like_dicom_without_preamble(path):
        return None  # NIfTI, NRRD, pictures, notes: not parsed as DICOM by force
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        return ds if ds.get("SOPClassUID") else None
    except Exception:
        return None


def _starts_like_dicom_without_preamble(path: str) -> bool:
    with open(path, "rb") as stream:
        start = stream.read(2)
    return len(start) == 2 and int.from_bytes(start, "little") in (0x0002, 0x0008)


def slice_normal(orientation) -> np.ndarray:
    """Unit normal of the slice plane: row direction x column direction (DICOM's convention)."""
    row, column = np.asarray(orientation[:3], float), np.asarray(orientation[3:], float)
    normal = np.cross(row, column)
    return normal / np.linalg.norm(normal)


def _values(value) -> list:
    if value is None:
        return []
    if isinstance(value, (str, bytes)):
        return [value] if value else []
    return list(value) if hasattr(value, "__iter__") else [value]


def _text(ds, keyword: str) -> str:
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _first_text(ds, *keywords: str) -> str | None:
    for keyword in keywords:
        if _text(ds, keyword):
            return _text(ds, keyword)
    return None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _floats(value, count: int) -> tuple[float, ...] | None:
    """A multi-valued decimal tag as floats; None when absent, short or not numeric."""
    try:
        numbers = tuple(float(v) for v in _values(value))
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not np.all(np.isfinite(numbers)):
        return None
    if count == 6 and (np.linalg.norm(numbers[:3]) < 0.5 or np.linalg.norm(numbers[3:]) < 0.5):
        return None  # zero vectors: no usable orientation
    return numbers
