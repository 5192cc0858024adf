"""Finding the CT series of a study folder (series in subfolders as on a CD, DICOMDIR beside them)
and setting aside, with the reason, the ones that are not an original CT volume."""

import dataclasses
import os
import re

from RenalMassAILib.case.dicom_header import MEDIA_DIRECTORY, DicomHeader, read_header

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT_STORAGE = ("1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2")  # Enhanced, Legacy Converted
SECONDARY_CAPTURE_PREFIX = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1 - .7.4
# Series descriptions vendors give their planning scans (Siemens, Philips, GE, Toshiba/Canon).
_LOCALIZER_WORDS = {"localizer", "localiser", "scout", "topogram", "surview", "scanogram", "scanoscope", "pilot"}


@dataclasses.dataclass(frozen=True)
class DicomSeries:
    """The files of one Series Instance UID that may hold a CT volume."""

    headers: tuple[DicomHeader, ...]

    @property
    def folder(self) -> str:
        return os.path.commonpath([os.path.dirname(h.path) for h in self.headers])

    @property
    def description(self) -> str:
        first = self.headers[0]
        return first.description or f"series {first.series_number or first.series_uid}"


@dataclasses.dataclass(frozen=True)
class SkippedSeries:
    folder: str
    description: str
    files: int
    reason: str

    def note(self) -> str:
        return f"skipped {self.folder!r} series {self.description!r} ({self.files} file(s)): {self.reason}"


@dataclasses.dataclass(frozen=True)
class DicomStudy:
    series: tuple[DicomSeries, ...]
    skipped: tuple[SkippedSeries, ...]


def scan_dicom_files(paths: list[str]) -> DicomStudy:
    """Groups the DICOM files among paths by series; directory files and non-DICOM files are left out."""
    groups: dict[str, list[DicomHeader]] = {}
    for path in paths:
        header = read_header(path)
        if header is None or header.sop_class_uid == MEDIA_DIRECTORY:
            continue
        groups.setdefault(header.series_key, []).append(header)
    series, skipped = [], []
    for headers in groups.values():
        candidate = DicomSeries(tuple(headers))
        reason = why_not_a_ct_volume(candidate.headers)
        if reason:
            skipped.append(SkippedSeries(candidate.folder, candidate.description, len(headers), reason))
        else:
            series.append(candidate)
    return DicomStudy(tuple(series), tuple(skipped))


def scan_study_folder(folder: str) -> DicomStudy:
    """Every file under folder, subfolders included (a study as exported to CD or by a PACS)."""
    paths = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        paths.extend(os.path.join(root, name) for name in sorted(files))
    return scan_dicom_files(paths)


def why_not_a_ct_volume(headers: tuple[DicomHeader, ...]) -> str | None:
    """Why the series cannot be a CT volume in HU (from its tags), or None when it may be one."""
    first = headers[0]
    image_type = "\\".join(first.image_type)
    if first.sop_class_uid.startswith(SECONDARY_CAPTURE_PREFIX):
        return f"secondary capture (SOP Class {first.sop_class_uid}), a picture, not a CT volume"
    if "LOCALIZER" in first.image_type or _words(first.description) & _LOCALIZER_WORDS:
        return f"localizer (ImageType '{image_type}'{_described(first)}), not a CT volume"
    if first.modality and first.modality != "CT":
        return f"modality {first.modality}, not CT"
    if first.image_type and first.image_type[0] == "DERIVED" and first.lossy_compression:
        return (
            f"lossy-compressed copy (ImageType '{image_type}', Lossy Image Compression 01, transfer syntax "
            f"{first.transfer_syntax}): HU altered; export the original series"
        )
    if first.image_type and first.image_type[0] == "DERIVED":
        return (
            f"DERIVED image (ImageType '{image_type}'{_described(first)}): a map or reformat computed from the scan, "
            "not original CT"
        )
    if first.sop_class_uid in ENHANCED_CT_STORAGE or first.number_of_frames > 1:
        return (
            f"multi-frame image (SOP Class {first.sop_class_uid}) is not supported; "
            "export the series as classic single-frame CT images"
        )
    if first.sop_class_uid and first.sop_class_uid != CT_IMAGE_STORAGE:
        return f"SOP Class {first.sop_class_uid} is not CT Image Storage"
    return None


def _described(header: DicomHeader) -> str:
    return f", description '{header.description}'" if header.description else ""


def _words(text: str) -> set[str]:
    return set(re.split(r"[^a-z0-9]+", text.lower())) - {""}
