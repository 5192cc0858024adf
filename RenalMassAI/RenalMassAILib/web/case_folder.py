"""The cases a web reader can open: the sub-folders of the served folder, read as the CLI reads them.

A case folder holds either DICOM series or image files (NIfTI, NRRD, MHA) whose names give the phase
(`arterial.nii.gz`, `venous.nrrd` ...), detected by the same phase detection as `renalmassai analyze
--auto`. A label map named `segmentation.*` beside them (kidney 1, tumor 2, cyst 3, on any grid that
covers the reference phase) is taken as the case's segmentation, with the record `renalmassai segment`
wrote beside it (segmentation.json) when there is one; without a label map the reader segments.
"""

import dataclasses
from pathlib import Path

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.loading import load_case_auto
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap, read_label_map
from RenalMassAILib.lesion.segmentation_record import record_beside

IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd")
SEGMENTATION_STEM = "segmentation"


@dataclasses.dataclass(frozen=True)
class OpenedCase:
    case: Case
    label_map: LabelMap | None
    folder: Path
    image_files: tuple[Path, ...]  # empty for a DICOM folder
    segmentation_file: Path | None
    segmentation_record: dict | None  # segmentation.json beside the label map (`renalmassai segment` writes it)


def case_names(cases_folder: Path) -> list[str]:
    """The sub-folders of the served folder, sorted; the folder itself when it is one case."""
    folder = Path(cases_folder)
    if not folder.is_dir():
        raise InputError(f"cases folder {str(folder)!r} is not a folder: give a folder of case folders")
    names = sorted(child.name for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))
    if not names and (_image_files(folder) or any(folder.iterdir())):
        return ["."]
    return names


def open_case(cases_folder: Path, name: str) -> OpenedCase:
    """Reads one case by its name in `case_names` (never a path from outside the served folder)."""
    if name not in case_names(cases_folder):
        raise InputError(f"case {name!r} is not in the served folder {str(cases_folder)!r}")
    folder = (Path(cases_folder) / name).resolve()
    case_id = folder.name
    images = _image_files(folder)
    case, _ = load_case_auto([str(path) for path in images] if images else [str(folder)], case_id)
    segmentation = next((path for path in _label_files(folder)), None)
    label_map = (
        read_label_map(segmentation, case.reference, reference_what=case.describe(case.reference_phase))
        if segmentation is not None
        else None
    )
    record = record_beside(segmentation) if segmentation is not None else None
    return OpenedCase(case, label_map, folder, tuple(images), segmentation, record)


def _has_image_suffix(path: Path) -> bool:
    return path.is_file() and path.name.lower().endswith(IMAGE_SUFFIXES)


def _stem(path: Path) -> str:
    name = path.name.lower()
    return next(name[: -len(suffix)] for suffix in IMAGE_SUFFIXES if name.endswith(suffix))


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _has_image_suffix(p) and _stem(p) != SEGMENTATION_STEM)


def _label_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if _has_image_suffix(p) and _stem(p) == SEGMENTATION_STEM)
