"""`renalmassai batch`: every case of a cohort through the pipeline, on a Dask cluster.

The per-case work (`analyse_case`) is a pure function of its arguments that writes its own result
folder, so any executor can run it, a crash loses only the cases in flight, and a rerun skips the
cases already done. A failing case is recorded (status "error" with the message) and the rest go on.
"""

import csv
import dataclasses
import json
import math
import time
from pathlib import Path

from tqdm import tqdm

from RenalMassAILib.cohort.manifest import ManifestRow, read_manifest
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.errors import InputError

RESULT = "result.json"
COLUMNS = ("case_id", "status", "error", "probability_malignancy", "probability_aggressiveness", "score_0_10",
           "phases_used", "models", "demo", "volume_ml", "max_diameter_mm", "center_lps", "class", "seconds")


@dataclasses.dataclass(frozen=True)
class BatchSettings:
    seg_model: str | None = None
    malignancy_model: str | None = None
    aggressiveness_model: str | None = None
    preprocessing: str = "authors-code"
    register: bool = False
    threads: int = 1  # torch threads per case (one case per worker process)


def analyse_case(row: ManifestRow, settings: BatchSettings, out_dir: str) -> dict:
    """One case end to end; writes out_dir/cases/<case_id>/ and returns its result row."""
    import torch

    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.prepare import load_case, prepare_case
    from RenalMassAILib.present.report import write_report

    torch.set_num_threads(settings.threads)
    folder = Path(out_dir) / "cases" / row.case_id
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = {"case_id": row.case_id, "class": row.pathology_class or ""}
    try:
        case = load_case({phase: str(path) for phase, path in row.images.items()}, row.case_id)
        if row.segmentation:
            label_map = read_label_map(row.segmentation, case.reference)
        elif settings.seg_model:
            label_map = _segment(case, settings, row)
        else:
            label_map = None
        prepared = prepare_case(case, preset(settings.preprocessing), label_map, row.center_lps,
                                "rigid" if settings.register else "world")
        analysis = Analyzer(prepared, {"malignancy": settings.malignancy_model,
                                       "aggressiveness": settings.aggressiveness_model}).run()
        report = json.loads(write_report(prepared, analysis, folder, label_map).read_text())
        result |= _row(report, "ok", "")
    except InputError as error:
        result |= _row(None, "error", str(error))
    except Exception as error:  # recorded, not raised: one bad case must not stop a cohort
        result |= _row(None, "error", f"{type(error).__name__}: {error}")
    result["seconds"] = round(time.perf_counter() - start, 2)
    (folder / RESULT).write_text(json.dumps(result, indent=2))
    return result


def run_batch(manifest, out, settings: BatchSettings, workers: int = 1, scheduler: str | None = None,
              progress: bool = True) -> Path:
    """Runs the cases not done yet; writes out/results.csv and per-task prediction CSVs for `evaluate`."""
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(out)
    rows = read_manifest(manifest, require_labels=False, require_location=settings.seg_model is None)
    todo = [row for row in rows if not (out / "cases" / row.case_id / RESULT).exists()]
    if todo:
        cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                      dashboard_address=None)
        with Client(scheduler or cluster) as client:
            futures = client.map(analyse_case, todo, settings=settings, out_dir=str(out), pure=False)
            for future in tqdm(as_completed(futures), total=len(futures), desc="cases", disable=not progress):
                future.result()
        if cluster is not None:
            cluster.close()
    return write_results(rows, out)


def write_results(rows: list[ManifestRow], out: Path) -> Path:
    results = [json.loads((out / "cases" / row.case_id / RESULT).read_text()) for row in rows
               if (out / "cases" / row.case_id / RESULT).exists()]
    path = out / "results.csv"
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(results)
    for task in ("malignancy", "aggressiveness"):
        usable = [r for r in results if r["status"] == "ok" and r["class"]
                  and not math.isnan(task_label(r["class"], task))]  # indeterminate: not in aggressiveness
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
        "status": status, "error": error,
        "probability_malignancy": predictions["malignancy"]["probability"],
        "probability_aggressiveness": predictions["aggressiveness"]["probability"],
        "score_0_10": predictions["aggressiveness"]["score_0_10"],
        "phases_used": " ".join(predictions["malignancy"]["phases_used"]),
        "models": " ".join(sorted({f"{p['model']['id']}:{p['model']['version']}" for p in predictions.values()})),
        "demo": report["demo"], "volume_ml": lesion["volume_ml"], "max_diameter_mm": lesion["max_diameter_mm"],
        "center_lps": " ".join(str(c) for c in lesion["center_lps"]),
    }
