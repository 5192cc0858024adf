"""The reference phase's source DICOM series, one header per label-map slice (for SEG, SR, SC and PDF).

The DICOM results reference the images the label map was drawn on. The label map lives on the
reference phase's grid, so slice k of the label map is the source image whose Image Position
(Patient) is the grid's slice k; images are matched by position, never by file order.
"""

import dataclasses
import os
from pathlib import Path

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.errors import InvalidDicomError

from RenalMassAILib.errors import InputError

POSITION_TOLERANCE_MM = 0.01
DIRECTION_TOLERANCE = 1e-4
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"


@dataclasses.dataclass(frozen=True)
class SourceSeries:
    """Headers (no pixel data) of one CT series; `slices[k]` lies at the label map's slice k."""

    folder: str
    slices: tuple[pydicom.Dataset, ...]

    @property
    def first(self) -> pydicom.Dataset:
        return self.slices[0]

    @property
    def series_uid(self) -> str:
        return str(self.first.SeriesInstanceUID)

    @property
    def study_uid(self) -> str:
        return str(self.first.StudyInstanceUID)

    def label(self) -> str:
        return f"{self.folder!r} (series {self.series_uid})"


def reference_source(report: dict) -> tuple[str, str | None] | None:
    """(folder, series description or None) of the reference phase, or None when it was not DICOM.

    report.json records a folder path, or 'folder#description' for a series picked out of a folder
    holding several."""
    source = (report.get("sources") or {}).get(report.get("reference_phase"))
    if not source:
        return None
    description = None
    if not os.path.exists(source) and "#" in source:
        source, description = source.split("#", 1)
    path = Path(source)
    if path.is_dir():
        return str(path), description
    if path.is_file() and pydicom.misc.is_dicom(str(path)):
        if str(pydicom.dcmread(path, stop_before_pixels=True).get("SOPClassUID", "")) == MEDIA_STORAGE_DIRECTORY:
            return str(path.parent), description  # a DICOMDIR stands for its study folder
        raise InputError(
            f"--dicom-out: the reference image {source!r} is a single DICOM file; the DICOM results "
            "need the folder of its series (one file per slice)"
        )
    return None


def read_source_series(folder: str, description: str | None, grid: sitk.Image) -> SourceSeries:
    """The series in `folder` whose slices lie on `grid`, sorted into the grid's slice order."""
    series = _headers_by_series(folder)
    if description is not None:
        series = {
            uid: headers
            for uid, headers in series.items()
            if str(headers[0].get("SeriesDescription", "")).strip() == description
        } or series
    matching, problems = [], []
    for uid, headers in series.items():
        ordered = _slices_on_grid(headers, grid)
        if isinstance(ordered, str):
            problems.append(f"series {uid}: {ordered}")
        else:
            matching.append(SourceSeries(folder, ordered))
    if len(matching) == 1:
        return matching[0]
    if not matching:
        raise InputError(
            f"--dicom-out: no DICOM series in {folder!r} lies on the label map's grid, so DICOM SEG "
            f"cannot reference its slices ({'; '.join(problems) or 'no CT images found'}); a series "
            "resampled on reading (uneven gaps, gantry tilt) cannot be referenced slice by slice"
        )
    raise InputError(
        f"--dicom-out: {len(matching)} DICOM series in {folder!r} lie on the label map's grid "
        f"({', '.join(s.series_uid for s in matching)}); give the reference phase as the folder "
        "of one series"
    )


def read_source_files(files: list[str], grid: sitk.Image, what: str) -> SourceSeries:
    """The given files of one series, sorted into the grid's slice order.

    For a volume whose instances are known one by one (Slicer's DICOM database records the SOP
    Instance UIDs a volume was loaded from): exactly these files, nothing else in their folder.
    `what` names the volume in errors."""
    if not files:
        raise InputError(
            f"DICOM export: no source files of {what} were found in the DICOM database; load the "
            "series through the DICOM module"
        )
    missing = [path for path in files if not Path(path).is_file()]
    if missing:
        raise InputError(
            f"DICOM export: {len(missing)} of the {len(files)} source files of {what} are missing "
            f"({', '.join(missing[:3])}); keep the study's files where the DICOM database has them"
        )
    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in files]
    if len({str(header.get("SeriesInstanceUID", "")) for header in headers}) != 1:
        raise InputError(
            f"DICOM export: the source files of {what} belong to several series; a SEG references one series"
        )
    ordered = _slices_on_grid(headers, grid)
    if isinstance(ordered, str):
        raise InputError(
            f"DICOM export: the source images of {what} do not lie on its voxel grid ({ordered}), so "
            "DICOM SEG cannot reference its slices"
        )
    return SourceSeries(os.path.commonpath([str(Path(path).parent) for path in files]), ordered)


def _headers_by_series(folder: str) -> dict[str, list[pydicom.Dataset]]:
    series: dict[str, list[pydicom.Dataset]] = {}
    for path in sorted(Path(folder).rglob("*")):
        if not path.is_file():
            continue
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError):
            continue  # DICOMDIR-style folders also hold non-DICOM files
        if "ImagePositionPatient" in header and "SeriesInstanceUID" in header and "SOPInstanceUID" in header:
            series.setdefault(str(header.SeriesInstanceUID), []).append(header)
    return series


def _slices_on_grid(headers: list[pydicom.Dataset], grid: sitk.Image) -> tuple[pydicom.Dataset, ...] | str:
    """The headers in grid slice order, or why they do not lie on the grid."""
    columns, rows, depth = grid.GetSize()
    if len(headers) != depth:
        return f"{len(headers)} images, the grid has {depth} slices"
    first = headers[0]
    if (int(first.Rows), int(first.Columns)) != (rows, columns):
        return f"images of {first.Rows} x {first.Columns} pixels, the grid's slices are {rows} x {columns}"
    direction = np.asarray(grid.GetDirection()).reshape(3, 3)
    spacing = grid.GetSpacing()
    by_slice: dict[int, pydicom.Dataset] = {}
    for header in headers:
        orientation = np.asarray(header.ImageOrientationPatient, dtype=float)
        if not np.allclose(orientation, np.concatenate([direction[:, 0], direction[:, 1]]), atol=DIRECTION_TOLERANCE):
            return f"image orientation {list(orientation)} differs from the grid's"
        if not np.allclose(np.asarray(header.PixelSpacing, dtype=float), (spacing[1], spacing[0]), atol=1e-4):
            return f"pixel spacing {list(header.PixelSpacing)} differs from the grid's {spacing[1]:g} x {spacing[0]:g}"
        position = np.asarray(header.ImagePositionPatient, dtype=float)
        index = grid.TransformPhysicalPointToContinuousIndex(position.tolist())
        k = round(index[2])
        expected = np.asarray(grid.TransformIndexToPhysicalPoint((0, 0, k)))
        where = f"image at {[round(float(p), 3) for p in position]} mm"
        if not 0 <= k < depth or np.abs(position - expected).max() > POSITION_TOLERANCE_MM:
            return f"{where} is not on one of the grid's slice positions"
        if k in by_slice:
            return f"{where}: two images at this slice position"
        by_slice[k] = header
    return tuple(by_slice[k] for k in range(depth))
