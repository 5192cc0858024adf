"""Cohort manifests: one CSV row per case.

Columns: case_id, non_contrast, arterial, venous (image paths, any may be empty), segmentation
(path) or center_lps ('x y z' in mm), class (benign / indolent / aggressive / indeterminate, or
the authors' 0 / 1 / 2 / 2.5), split (train / val / test). Relative paths are relative to the CSV.
"""

import csv
import dataclasses
from pathlib import Path

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cohort.task_labels import parse_class
from RenalMassAILib.errors import InputError

REQUIRED = ("case_id", "class", "split")
PHASE_COLUMNS = {"non_contrast": Phase.NON_CONTRAST, "arterial": Phase.ARTERIAL, "venous": Phase.VENOUS}
SPLITS = ("train", "val", "test")


@dataclasses.dataclass(frozen=True)
class ManifestRow:
    case_id: str
    images: dict[Phase, Path]
    segmentation: Path | None
    center_lps: tuple[float, float, float] | None
    pathology_class: str | None  # None: not given (batch runs need no labels)
    split: str | None


def read_manifest(path, require_labels: bool = True, require_location: bool = True) -> list[ManifestRow]:
    """require_labels: class and split must be given (training); require_location: a segmentation or
    a center per case (batch runs with a segmentation model need neither)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest {str(path)!r}: no such file")
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        required = REQUIRED if require_labels else ("case_id",)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"manifest {str(path)!r}: missing column(s) {', '.join(missing)}")
        rows = [
            _row(record, path, number, require_labels, require_location)
            for number, record in enumerate(reader, start=2)
        ]
    if not rows:
        raise InputError(f"manifest {str(path)!r}: no cases")
    ids = [r.case_id for r in rows]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise InputError(f"manifest {str(path)!r}: case_id repeated: {', '.join(duplicates[:5])}")
    return rows


def case_row(case_id: str, files: dict, pathology_class: str = "", **columns) -> dict:
    """A manifest row for a case's files named as `Phantom.write` names them (non-contrast, arterial,
    venous, segmentation), its class and further columns (split, ...)."""
    named = {"non_contrast": "non-contrast", "arterial": "arterial", "venous": "venous", "segmentation": "segmentation"}
    images = {column: str(files[name]) for column, name in named.items()}
    return {"case_id": case_id, **images, "class": pathology_class, **columns}


def write_manifest(path, rows: list[dict]) -> Path:
    """A manifest CSV from dicts (the first row's keys are the columns)."""
    path = Path(path)
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _row(record: dict, manifest: Path, line: int, require_labels: bool, require_location: bool) -> ManifestRow:
    where = f"manifest {str(manifest)!r} line {line}"
    resolve = lambda text: (manifest.parent / text.strip()) if text and text.strip() else None  # noqa: E731
    images = {phase: resolve(record.get(column)) for column, phase in PHASE_COLUMNS.items()}
    images = {phase: p for phase, p in images.items() if p is not None}
    if not images:
        raise InputError(f"{where}: no image path (columns non_contrast, arterial, venous)")
    center = None
    if (record.get("center_lps") or "").strip():
        try:
            center = tuple(float(v) for v in record["center_lps"].replace(",", " ").split())
        except ValueError:
            center = ()
        if len(center) != 3:
            raise InputError(f"{where}: center_lps {record['center_lps']!r} is not 'x y z'")
    segmentation = resolve(record.get("segmentation"))
    if segmentation is None and center is None and require_location:
        raise InputError(f"{where}: give a segmentation or a center_lps")
    pathology, split = None, None
    if require_labels or (record.get("class") or "").strip():
        try:
            pathology = parse_class(record["class"])
        except ValueError as error:
            raise InputError(f"{where}: {error}") from None
    if require_labels or (record.get("split") or "").strip():
        split = record["split"].strip().lower()
        if split not in SPLITS:
            raise InputError(f"{where}: split {record['split']!r} is not one of {', '.join(SPLITS)}")
    return ManifestRow(record["case_id"].strip(), images, segmentation, center, pathology, split)
