"""Reading CT images (NIfTI, NRRD, any SimpleITK format, or a DICOM series folder) in HU."""

import dataclasses
import os
from pathlib import Path

import SimpleITK as sitk

from RenalMassAILib.errors import InputError

# DICOM tags read for phase detection.
TAG_SERIES_DESCRIPTION = "0008|103e"
TAG_CONTRAST_AGENT = "0018|0010"
TAG_ACQUISITION_TIME = "0008|0032"
TAG_SERIES_TIME = "0008|0031"
TAG_SERIES_NUMBER = "0020|0011"


@dataclasses.dataclass(frozen=True)
class ImageSource:
    """One readable 3D image: a file, or one DICOM series of a folder, with what tells its phase."""

    path: str
    description: str  # series description, or the file name
    series_uid: str | None = None
    dicom_files: tuple[str, ...] = ()
    contrast_agent: str | None = None  # None: not DICOM or tag absent
    acquisition_time: str | None = None  # DICOM TM, 'HHMMSS.frac'

    @property
    def is_dicom(self) -> bool:
        return bool(self.dicom_files)

    def label(self) -> str:
        if self.series_uid:
            return f"{self.path!r} (series {self.description!r})"
        return repr(self.path)


def list_sources(path: str | os.PathLike, what: str = "image") -> list[ImageSource]:
    """A file gives one source; a folder gives one source per DICOM series found in it."""
    path = str(path)
    if not os.path.exists(path):
        raise InputError(f"{what} {path!r}: no such file or folder")
    if os.path.isfile(path):
        return [ImageSource(path=path, description=_file_stem(path))]
    sources = [_dicom_source(path, uid) for uid in sitk.ImageSeriesReader.GetGDCMSeriesIDs(path)]
    if not sources:
        raise InputError(f"{what} {path!r}: folder holds no DICOM series")
    return sources


def read_source(source: ImageSource, what: str = "image") -> sitk.Image:
    try:
        if source.is_dicom:
            reader = sitk.ImageSeriesReader()
            reader.SetFileNames(list(source.dicom_files))
            return reader.Execute()  # GDCM applies Rescale Slope/Intercept: values are HU
        return sitk.ReadImage(source.path)
    except RuntimeError as error:
        raise InputError(f"{what} {source.label()} cannot be read as an image: {_first_line(error)}") from None


def read_image(path: str | os.PathLike, what: str = "image") -> tuple[sitk.Image, ImageSource]:
    """Reads a file or a folder holding exactly one DICOM series."""
    sources = list_sources(path, what)
    if len(sources) > 1:
        names = ", ".join(repr(s.description) for s in sources)
        raise InputError(
            f"{what} {str(path)!r}: folder holds {len(sources)} DICOM series ({names}); "
            "give the folder of one series, or let phases be detected with --auto"
        )
    return read_source(sources[0], what), sources[0]


def _dicom_source(folder: str, uid: str) -> ImageSource:
    files = tuple(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(folder, uid))
    tags = _read_tags(files[0])
    return ImageSource(
        path=folder,
        description=tags.get(TAG_SERIES_DESCRIPTION, "").strip() or f"series {tags.get(TAG_SERIES_NUMBER, uid).strip()}",
        series_uid=uid,
        dicom_files=files,
        contrast_agent=tags.get(TAG_CONTRAST_AGENT, "").strip() if TAG_CONTRAST_AGENT in tags else None,
        acquisition_time=(tags.get(TAG_ACQUISITION_TIME) or tags.get(TAG_SERIES_TIME) or "").strip() or None,
    )


def _read_tags(file_name: str) -> dict[str, str]:
    reader = sitk.ImageFileReader()
    reader.SetFileName(file_name)
    reader.LoadPrivateTagsOff()
    try:
        reader.ReadImageInformation()
    except RuntimeError as error:
        raise InputError(f"DICOM file {file_name!r} cannot be read: {_first_line(error)}") from None
    return {key: reader.GetMetaData(key) for key in reader.GetMetaDataKeys()}


def _file_stem(path: str) -> str:
    name = Path(path).name
    for suffix in (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _first_line(error: Exception) -> str:
    """ITK errors span many lines; keep the informative one."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if "Description:" in line:
            return line.split("Description:", 1)[1].strip()
    return lines[-1] if lines else type(error).__name__
