"""Pathology records from a CSV of pathology fields or from the public KiTS19/21/23 clinical JSON,
and the labels CSV (case_id, class, reason) that manifests and evaluations use."""

import csv
import json
from pathlib import Path

from RenalMassAILib.cohort.pathology import PathologyRecord, classify
from RenalMassAILib.errors import InputError

CSV_COLUMNS = ("case_id", "subtype", "isup_grade", "necrosis", "sarcomatoid", "rhabdoid", "t_stage",
               "venous_invasion", "perinephric_invasion")
_TRUE = {"1", "true", "yes", "y", "present", "t"}
_FALSE = {"0", "false", "no", "n", "absent", "f"}


def records_from_csv(path) -> dict[str, PathologyRecord]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pathology CSV {str(path)!r}: no such file")
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        missing = [c for c in ("case_id", "subtype") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"pathology CSV {str(path)!r}: missing column(s) {', '.join(missing)}")
        return {row["case_id"]: _record(row, f"pathology CSV {str(path)!r} line {n}")
                for n, row in enumerate(reader, start=2)}


def records_from_kits_json(path) -> dict[str, PathologyRecord]:
    path = Path(path)
    try:
        cases = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise InputError(f"KiTS clinical JSON {str(path)!r}: no such file") from None
    except json.JSONDecodeError as error:
        raise InputError(f"KiTS clinical JSON {str(path)!r} is not valid JSON ({error})") from None
    if not isinstance(cases, list) or not all(isinstance(c, dict) and "case_id" in c for c in cases):
        raise InputError(f"KiTS clinical JSON {str(path)!r}: expected a list of cases with case_id")
    return {case["case_id"]: PathologyRecord(
        subtype=str(case.get("tumor_histologic_subtype") or ""),
        isup_grade=_grade(case.get("tumor_isup_grade"), f"case {case['case_id']}"),
        necrosis=case.get("tumor_necrosis"),
        t_stage=str(case["pathology_t_stage"]) if case.get("pathology_t_stage") not in (None, "") else None,
    ) for case in cases}


def write_labels(records: dict[str, PathologyRecord], out) -> dict[str, int]:
    """labels CSV with columns case_id, class, reason, subtype; returns the count per class."""
    counts: dict[str, int] = {}
    with open(out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["case_id", "class", "reason", "subtype"])
        for case_id, record in records.items():
            result = classify(record)
            writer.writerow([case_id, result.pathology_class, result.reason, result.subtype])
            counts[result.pathology_class] = counts.get(result.pathology_class, 0) + 1
    return counts


def _record(row: dict, where: str) -> PathologyRecord:
    return PathologyRecord(
        subtype=row["subtype"], isup_grade=_grade(row.get("isup_grade"), where),
        necrosis=_flag(row.get("necrosis"), where), sarcomatoid=_flag(row.get("sarcomatoid"), where),
        rhabdoid=_flag(row.get("rhabdoid"), where), t_stage=(row.get("t_stage") or "").strip() or None,
        venous_invasion=_flag(row.get("venous_invasion"), where),
        perinephric_invasion=_flag(row.get("perinephric_invasion"), where))


def _flag(text, where: str) -> bool | None:
    if text is None or str(text).strip() == "":
        return None
    key = str(text).strip().lower()
    if key in _TRUE | _FALSE:
        return key in _TRUE
    raise InputError(f"{where}: {text!r} is not yes/no")


def _grade(value, where: str) -> int | None:
    if value is None or str(value).strip() in ("", "nan", "None"):
        return None
    try:
        grade = int(float(value))
    except ValueError:
        raise InputError(f"{where}: ISUP grade {value!r} is not a number 1-4") from None
    if not 1 <= grade <= 4:
        raise InputError(f"{where}: ISUP grade {value!r} is not 1-4")
    return grade
