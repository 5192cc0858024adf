"""Reading CT images (NIfTI, NRRD, any SimpleITK format, or the DICOM series of a study folder) in HU.

DICOM folders are searched with their subfolders; series that are not an original CT volume
(localizers, secondary captures, DERIVED maps) are skipped with the reason (dicom_study.py), and a
series' geometry comes from its slice positions (dicom_volume.py).
"""

import dataclasses
import os
from pathlib import Path

import SimpleITK as sitk

from RenalMassAILib.case.dicom_header import MEDIA_DIRECTORY, DicomHeader, read_header
from RenalMassAILib.case.dicom_study import DicomSeries, DicomStudy, scan_dicom_files, scan_study_folder
from RenalMassAILib.case.dicom_volume import read_dicom_volume
from RenalMassAILib.case.itk_errors import first_line
from RenalMassAILib.case.nifti_values import check_nifti_values_finite, is_nifti
from RenalMassAILib.errors import InputError


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """One readable 3D image: a file, or one DICOM series of a folder, with what tells its phase."""

    path: str  # the file, or the folder holding the series' files
    description: str  # series description, or the file name
    series_uid: str | None = None
    dicom_files: tuple[str, ...] = ()
    contrast_agent: str | None = None  # None: not DICOM or tag absent
    acquisition_time: str | None = None  # DICOM TM as written, e.g. 'HHMMSS.frac'
    acquisition_date: str | None = None  # DICOM DA as written
    acquisition_datetime: str | None = None  # DICOM DT as written
    headers: tuple[DicomHeader, ...] = ()

    @property
    def is_dicom(self) -> bool:
        return bool(self.dicom_files)

    def label(self) -> str:
        if self.series_uid:
            return f"{self.path!r} (series {self.description!r})"
        return repr(self.path)


@dataclasses.dataclass(frozen=True)
class FoundSources:
    sources: list[ImageSource]
    skipped: tuple[str, ...] = ()  # one note per DICOM series set aside, with the reason


@dataclasses.dataclass(frozen=True)
class ReadImage:
    image: sitk.Image
    notes: tuple[str, ...] = ()  # what reading corrected (regridding, de-duplication, lossy pixels)


def find_sources(path: str | os.PathLike, what: str = "image") -> FoundSources:
    """A file gives one source; a folder gives one source per CT series found in it or below it."""
    path = str(path)
    if not os.path.exists(path):
        raise InputError(f"{what} {path!r}: no such file or folder")
    header = read_header(path) if os.path.isfile(path) else None
    if header is not None and header.sop_class_uid == MEDIA_DIRECTORY:
        return find_sources(os.path.dirname(os.path.abspath(path)), what)  # a DICOMDIR: its study folder
    if os.path.isfile(path) and header is None:
        return FoundSources([ImageSource(path=path, description=_file_stem(path))])
    study = scan_dicom_files([path]) if header is not None else scan_study_folder(path)
    _refuse_if_no_series(study, path, what)
    return FoundSources([_dicom_source(s) for s in study.series], tuple(s.note() for s in study.skipped))


def list_sources(path: str | os.PathLike, what: str = "image") -> list[ImageSource]:
    return find_sources(path, what).sources


def read_volume(source: ImageSource, what: str = "image") -> ReadImage:
    """The source's 3D image in HU, with notes on what was corrected while reading it."""
    if source.is_dicom:
        volume = read_dicom_volume(source.headers, what)
        return ReadImage(volume.image, volume.notes)
    if is_nifti(source.path):
        check_nifti_values_finite(source.path, what)
    try:
        return ReadImage(sitk.ReadImage(source.path))
    except RuntimeError as error:
        raise InputError(f"{what} {source.label()} cannot be read as an image: {first_line(error)}") from None


def read_source(source: ImageSource, what: str = "image") -> sitk.Image:
    return read_volume(source, what).image


def single_source(path: str | os.PathLike, what: str = "image") -> FoundSources:
    """The one image at path: a file, or a folder holding exactly one CT series (others skipped)."""
    found = find_sources(path, what)
    if len(found.sources) > 1:
        names = ", ".join(repr(s.description) for s in found.sources)
        raise InputError(
            f"{what} {str(path)!r}: folder holds {len(found.sources)} DICOM series ({names}); "
            "give the folder of one series, or let phases be detected with --auto"
        )
    return found


def read_image(path: str | os.PathLike, what: str = "image") -> tuple[sitk.Image, ImageSource]:
    """Reads a file or a folder holding exactly one CT series."""
    source = single_source(path, what).sources[0]
    return read_source(source, what), source


def _refuse_if_no_series(study: DicomStudy, path: str, what: str) -> None:
    if study.series:
        return
    if not study.skipped:
        raise InputError(f"{what} {path!r}: folder holds no DICOM series")
    if os.path.isfile(path):
        raise InputError(f"{what} {path!r}: {study.skipped[0].reason}; give the folder of the axial CT series")
    reasons = "; ".join(f"{s.description!r}: {s.reason}" for s in study.skipped)
    raise InputError(f"{what} {path!r}: no CT volume among its DICOM series ({reasons})")


def _dicom_source(series: DicomSeries) -> ImageSource:
    # The first slice acquired stands for the series (sequenced scans give each rotation its own time).
    first = min(series.headers, key=lambda h: (h.instance_number is None, h.instance_number or 0, h.path))
    return ImageSource(
        path=series.folder,
        description=series.description,
        series_uid=first.series_uid or None,
        dicom_files=tuple(h.path for h in series.headers),
        contrast_agent=first.contrast_agent,
        acquisition_time=first.acquisition_time,
        acquisition_date=first.acquisition_date,
        acquisition_datetime=first.acquisition_datetime,
        headers=series.headers,
    )


def _file_stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name
