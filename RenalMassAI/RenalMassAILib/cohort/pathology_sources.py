"""Pathology records from a CSV of pathology fields or from the public KiTS19/21/23 clinical JSON,
and the labels CSV (case_id, class, reason, subtype) that manifests and evaluations use.

A file that cannot be read as a whole (missing, not JSON, no case_id column) is refused. Inside it,
every record is labelled: a field that cannot be read is treated as not given and named in that
record's reason, a record without a usable case_id or repeating one is written as excluded with the
reason, so one bad record never stops the others and none is dropped silently.
"""

import csv
import dataclasses
import json
from pathlib import Path

from RenalMassAILib.cohort.pathology import EXCLUDED, PathologyRecord, classify
from RenalMassAILib.cohort.pathology_values import is_not_given, read_flag, read_grade, read_t_stage
from RenalMassAILib.errors import InputError

CSV_COLUMNS = (
    "case_id",
    "subtype",
    "isup_grade",
    "necrosis",
    "sarcomatoid",
    "rhabdoid",
    "t_stage",
    "venous_invasion",
    "perinephric_invasion",
    "malignant",
)
LABEL_COLUMNS = ("case_id", "class", "reason", "subtype")
# KiTS clinical JSON field -> PathologyRecord field (KiTS has no separate vein / perinephric fields: pT3 says it)
_KITS_FLAGS = {
    "tumor_necrosis": "necrosis",
    "sarcomatoid_features": "sarcomatoid",
    "rhabdoid_features": "rhabdoid",
    "malignant": "malignant",
}


@dataclasses.dataclass(frozen=True)
class SourceRecord:
    """One record of a pathology source: what could be read, and what could not."""

    case_id: str
    record: PathologyRecord | None  # None: nothing to classify (the problems say why)
    problems: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class LabelRow:
    case_id: str
    pathology_class: str
    reason: str
    subtype: str
    problems: tuple[str, ...]


def records_from_csv(path) -> list[SourceRecord]:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"pathology CSV {str(path)!r}: no such file")
    with open(path, newline="") as file:
        reader = csv.DictReader(file)
        missing = [c for c in ("case_id", "subtype") if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"pathology CSV {str(path)!r}: missing column(s) {', '.join(missing)}")
        return [_csv_record(row) for row in reader]


def records_from_kits_json(path) -> list[SourceRecord]:
    path = Path(path)
    where = f"KiTS clinical JSON {str(path)!r}"
    try:
        cases = json.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{where} is not valid JSON ({error})") from None
    if isinstance(cases, dict) and cases and all(isinstance(c, dict) for c in cases.values()):
        cases = [{"case_id": key} | case for key, case in cases.items()]  # a mapping case_id -> record
    if not isinstance(cases, list) or not cases:
        raise InputError(f"{where}: expected a list of case records (KiTS kits.json), got {type(cases).__name__}")
    return [_kits_record(case, number) for number, case in enumerate(cases, start=1)]


def label_records(records: list[SourceRecord]) -> list[LabelRow]:
    """Every record labelled; later records repeating a case_id are excluded (the first one counts)."""
    rows, seen = [], set()
    for source in records:
        problems = source.problems
        if source.case_id and source.case_id in seen:
            problems = (*problems, f"case_id {source.case_id!r} repeated: only its first record is labelled")
            rows.append(LabelRow(source.case_id, EXCLUDED, "; ".join(problems), "", problems))
            continue
        seen.add(source.case_id)
        if source.record is None:
            rows.append(LabelRow(source.case_id, EXCLUDED, "; ".join(problems), "", problems))
            continue
        result = classify(source.record)
        reason = "; ".join((result.reason, *problems))
        rows.append(LabelRow(source.case_id, result.pathology_class, reason, result.subtype, problems))
    return rows


def write_labels(records: list[SourceRecord], out) -> list[LabelRow]:
    """The labels CSV (case_id, class, reason, subtype), one row per record; returns the rows."""
    rows = label_records(records)
    with open(out, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(LABEL_COLUMNS)
        for row in rows:
            writer.writerow([row.case_id, row.pathology_class, row.reason, row.subtype])
    return rows


def _csv_record(row: dict) -> SourceRecord:
    case_id = (row.get("case_id") or "").strip()
    problems, fields = [], {}
    for column in ("necrosis", "sarcomatoid", "rhabdoid", "venous_invasion", "perinephric_invasion", "malignant"):
        fields[column] = _keep(read_flag(row.get(column), column), problems)
    fields["isup_grade"] = _keep(read_grade(row.get("isup_grade"), "isup_grade"), problems)
    fields["t_stage"] = _keep(read_t_stage(row.get("t_stage"), "t_stage"), problems)
    if not case_id:
        return SourceRecord("", None, ("no case_id", *problems))
    subtype = "" if is_not_given(row.get("subtype")) else str(row["subtype"]).strip()
    return SourceRecord(case_id, PathologyRecord(subtype=subtype, **fields), tuple(problems))


def _kits_record(case, number: int) -> SourceRecord:
    if not isinstance(case, dict):
        return SourceRecord("", None, (f"record {number} is a {type(case).__name__}, not a case record",))
    case_id = case.get("case_id")
    if is_not_given(case_id) or not isinstance(case_id, (str, int)) or isinstance(case_id, bool):
        return SourceRecord("", None, (f"record {number} has no case_id",))
    problems, fields = [], {}
    for field, target in _KITS_FLAGS.items():
        fields[target] = _keep(read_flag(case.get(field), field), problems)
    fields["isup_grade"] = _keep(read_grade(case.get("tumor_isup_grade"), "tumor_isup_grade"), problems)
    fields["t_stage"] = _keep(read_t_stage(case.get("pathology_t_stage"), "pathology_t_stage"), problems)
    subtype = case.get("tumor_histologic_subtype")
    if not is_not_given(subtype) and not isinstance(subtype, str):
        problems.append(f"tumor_histologic_subtype {subtype!r} is not text: treated as not given")
        subtype = None
    subtype = "" if is_not_given(subtype) else subtype.strip()
    return SourceRecord(str(case_id).strip(), PathologyRecord(subtype=subtype, **fields), tuple(problems))


def _keep(parsed: tuple, problems: list[str]):
    value, problem = parsed
    if problem:
        problems.append(problem)
    return value
