"""`renalmassai batch`: every case of a cohort through the pipeline, on a Dask cluster.

The per-case work (`analyze_case`) is a pure function of its arguments that writes its own result
folder, so any executor can run it and a crash loses only the cases in flight. A failing case is
recorded (status "error" with the message) and the rest go on.

Each result.json records the settings that made it (`case_settings`: the case's manifest inputs, the
models and their fingerprints, the options). A rerun skips a case only when it finished ("ok") with
the same settings; failed cases are retried and cases whose settings changed are redone. What the
run decided for each case, and why, is written to batch.json.
"""

import csv
import dataclasses
import json
import math
import shutil
import time
from pathlib import Path

from tqdm import tqdm

from RenalMassAILib.cohort.batch_settings import case_settings, fingerprint, settings_fingerprints
from RenalMassAILib.cohort.manifest import ManifestRow, read_manifest
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.errors import InputError
from RenalMassAILib.torch_threads import torch_threads

RESULT = "result.json"
PLAN = "batch.json"
COLUMNS = (
    "case_id",
    "status",
    "error",
    "probability_malignancy",
    "probability_aggressiveness",
    "score_0_10",
    "phases_used",
    "models",
    "demo",
    "volume_ml",
    "max_diameter_mm",
    "center_lps",
    "class",
    "seconds",
)


@dataclasses.dataclass(frozen=True)
class BatchSettings:
    seg_model: str | None = None
    malignancy_model: str | None = None
    aggressiveness_model: str | None = None
    preprocessing: str = "authors-code"
    register: bool = False
    threads: int = 1  # torch threads per case (one case per worker process); does not change results
    labels: str | None = (
        None  # --labels: what the manifest's segmentations' values mean (else kidney 1 / tumor 2 / cyst 3)
    )


def analyze_case(
    row: ManifestRow, settings: BatchSettings, out_dir: str, recorded_settings: dict | None = None
) -> dict:
    """One case end to end; writes out_dir/cases/<case_id>/ and returns its result row.
    `recorded_settings` (what `case_settings` gives) is stored in result.json so a rerun can tell
    whether the case must be redone."""
    with torch_threads(settings.threads):
        return _analyze_case(row, settings, out_dir, recorded_settings)


def _analyze_case(row: ManifestRow, settings: BatchSettings, out_dir: str, recorded_settings: dict | None) -> dict:
    from RenalMassAILib.case.loading import load_case
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.lesion.label_meanings import parse_label_meanings
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.prepare import prepare_case
    from RenalMassAILib.present.report import write_report

    folder = Path(out_dir) / "cases" / row.case_id
    if folder.is_dir():  # a retried or redone case: no file of the earlier run may outlive it
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = {"case_id": row.case_id, "class": row.pathology_class or ""}
    try:
        meanings = parse_label_meanings(settings.labels) if settings.labels else None
        case = load_case({phase: str(path) for phase, path in row.images.items()}, row.case_id)
        if row.segmentation:
            label_map = read_label_map(row.segmentation, case.reference, meanings=meanings)
        elif settings.seg_model:
            label_map = _segment(case, settings, row)
        else:
            label_map = None
        prepared = prepare_case(
            case, preset(settings.preprocessing), label_map, row.center_lps, "rigid" if settings.register else "world"
        )
        analysis = Analyzer(
            prepared, {"malignancy": settings.malignancy_model, "aggressiveness": settings.aggressiveness_model}
        ).run()
        report = json.loads(write_report(prepared, analysis, folder, label_map).read_text())
        result |= _row(report, "ok", "")
    except InputError as error:
        result |= _row(None, "error", str(error))
    except Exception as error:  # recorded, not raised: one bad case must not stop a cohort
        result |= _row(None, "error", f"{type(error).__name__}: {error}")
    result["seconds"] = round(time.perf_counter() - start, 2)
    if recorded_settings is not None:
        result["case_settings"] = recorded_settings
        result["settings_fingerprint"] = fingerprint(recorded_settings)
    (folder / RESULT).write_text(json.dumps(result, indent=2))
    return result


def run_batch(
    manifest, out, settings: BatchSettings, workers: int = 1, scheduler: str | None = None, progress: bool = True
) -> Path:
    """Runs the cases that are new, failed or changed; writes out/results.csv, out/batch.json and
    per-task prediction CSVs for `evaluate`. workers=0 runs the cases in this process (no Dask)."""
    out = Path(out)
    rows = read_manifest(manifest, require_labels=False, require_location=settings.seg_model is None)
    shared = settings_fingerprints(settings)
    recorded = {row.case_id: case_settings(row, settings, shared) for row in rows}
    decisions = {row.case_id: _decision(out / "cases" / row.case_id / RESULT, recorded[row.case_id]) for row in rows}
    todo = [row for row in rows if decisions[row.case_id] != "skipped: done with the same settings"]
    _write_plan(out, decisions)
    if todo and workers == 0:
        for row in tqdm(todo, desc="cases", disable=not progress):
            analyze_case(row, settings, str(out), recorded[row.case_id])
    elif todo:
        _run_on_dask(todo, settings, out, recorded, workers, scheduler, progress)
    return write_results(rows, out)


def _run_on_dask(
    todo: list[ManifestRow],
    settings: BatchSettings,
    out: Path,
    recorded: dict,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = (
        None
        if scheduler
        else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    )
    with Client(scheduler or cluster) as client:
        futures = [
            client.submit(analyze_case, row, settings, str(out), recorded[row.case_id], pure=False) for row in todo
        ]
        for future in tqdm(as_completed(futures), total=len(futures), desc="cases", disable=not progress):
            future.result()
    if cluster is not None:
        cluster.close()


def _decision(result_path: Path, settings: dict) -> str:
    """Why a case runs (or not) in this run."""
    if not result_path.exists():
        return "new"
    try:
        previous = json.loads(result_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return "rerun: its result.json was unreadable"
    if previous.get("status") != "ok":
        return "retry: it failed before"
    if "case_settings" not in previous:
        return "redo: its settings were not recorded (an earlier version's result)"
    if previous.get("settings_fingerprint") != fingerprint(settings):
        return "redo: settings changed (" + ", ".join(_changed_keys(previous["case_settings"], settings)) + ")"
    return "skipped: done with the same settings"


def _changed_keys(before: dict, now: dict) -> list[str]:
    return sorted(key for key in set(before) | set(now) if before.get(key) != now.get(key))


def _write_plan(out: Path, decisions: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for decision in decisions.values():
        kind = decision.split(":")[0]
        counts[kind] = counts.get(kind, 0) + 1
    (out / PLAN).write_text(json.dumps({"counts": counts, "cases": decisions}, indent=2))


def write_results(rows: list[ManifestRow], out: Path) -> Path:
    """results.csv and predictions_<task>.csv from the cases' result.json; the class is the manifest's
    current one (a corrected label needs no rerun)."""
    results = [
        json.loads((out / "cases" / row.case_id / RESULT).read_text()) | {"class": row.pathology_class or ""}
        for row in rows
        if (out / "cases" / row.case_id / RESULT).exists()
    ]
    path = out / "results.csv"
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(results)
    for task in ("malignancy", "aggressiveness"):
        usable = [
            r for r in results if r["status"] == "ok" and r["class"] and not math.isnan(task_label(r["class"], task))
        ]  # indeterminate: not in aggressiveness
        if usable:
            with open(out / f"predictions_{task}.csv", "w", newline="") as file:
                writer = csv.writer(file)
                writer.writerow(["case_id", "label", "probability"])
                for r in usable:
                    writer.writerow([r["case_id"], int(task_label(r["class"], task)), r[f"probability_{task}"]])
    return path


def _segment(case, settings: BatchSettings, row: ManifestRow):
    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment

    model = open_segmentation_model(settings.seg_model, case.phases)
    return segment(case, model, row.center_lps, SegmentationOptions(threads=settings.threads)).label_map


def _row(report: dict | None, status: str, error: str) -> dict:
    if report is None:
        return {"status": status, "error": error}
    predictions = report["predictions"]
    lesion = report["lesion"]
    return {
        "status": status,
        "error": error,
        "probability_malignancy": predictions["malignancy"]["probability"],
        "probability_aggressiveness": predictions["aggressiveness"]["probability"],
        "score_0_10": predictions["aggressiveness"]["score_0_10"],
        "phases_used": " ".join(predictions["malignancy"]["phases_used"]),
        "models": " ".join(sorted({f"{p['model']['id']}:{p['model']['version']}" for p in predictions.values()})),
        "demo": report["demo"],
        "volume_ml": lesion["volume_ml"],
        "max_diameter_mm": lesion["max_diameter_mm"],
        "center_lps": " ".join(str(c) for c in lesion["center_lps"]),
    }
