"""`renalmassai baseline`: the paper's comparators on a cohort, as prediction CSVs for `evaluate`.

Per case (manifest row with a segmentation, or the segmentation a `batch` run wrote): automated
R.E.N.A.L. and radiomics features (pyradiomics, Resources/Radiomics/section_2d.yaml). Per task: the
"RENAL nomogram (refit)" and the radiomics LASSO + random-forest model, fitted on the train split (plus
val), applied to the test split.
"""

import csv
import json
import math
from pathlib import Path

import numpy as np
from tqdm import tqdm

from RenalMassAILib.cohort.manifest import ManifestRow, read_manifest
from RenalMassAILib.cohort.radiomics_features import case_features, extractor_record
from RenalMassAILib.cohort.radiomics_model import fit_radiomics_model, save_radiomics_model
from RenalMassAILib.cohort.renal_nomogram import fit_nomogram, nomogram_features, predict_nomogram, save_nomogram
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.errors import InputError

TASKS = ("malignancy", "aggressiveness")
FIT_SPLITS = ("train", "val")


def case_baseline_features(row: ManifestRow, batch_dir: Path | None) -> dict:
    """R.E.N.A.L. summary and radiomics features of one case (or its error)."""
    from RenalMassAILib.case.loading import load_case
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.lesion.nephrometry import nephrometry
    from RenalMassAILib.prepare import prepare_case

    result = {"case_id": row.case_id, "class": row.pathology_class, "split": row.split}
    try:
        segmentation = row.segmentation or (
            batch_dir / "cases" / row.case_id / "segmentation.nii.gz" if batch_dir else None
        )
        if segmentation is None or not Path(segmentation).exists():
            raise InputError("no segmentation: give one in the manifest or --batch with a run that segmented the case")
        case = load_case({phase: str(path) for phase, path in row.images.items()}, row.case_id)
        label_map = read_label_map(segmentation, case.reference)
        prepared = prepare_case(case, preset("authors-code"), label_map, row.center_lps)
        if prepared.lesion is None:  # e.g. a Bosniak 2 cyst: a centre and a label map, but no tumor segment
            raise InputError("the segmentation has no tumor segment: R.E.N.A.L. and radiomics score tumors only")
        renal = nephrometry(label_map, case.reference, prepared.lesion).summary()
        result.update({"status": "ok", "renal": renal, "radiomics": case_features(prepared, label_map)})
    except (InputError, ValueError) as error:
        result.update({"status": "error", "error": str(error)})
    return result


def run_baselines(manifest, out, batch_dir=None) -> dict:
    rows = read_manifest(manifest, require_labels=True, require_location=False)
    extractor = extractor_record()  # refuses a missing pyradiomics once, before any case is read
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    batch_dir = Path(batch_dir) if batch_dir else None
    cases = [case_baseline_features(row, batch_dir) for row in tqdm(rows, desc="baseline features", unit="case")]
    _write_features(cases, out / "features.csv")
    usable = [c for c in cases if c["status"] == "ok" and (c["renal"].get("total") is not None)]
    names = sorted({name for c in usable for name in c["radiomics"]})
    usable = [c for c in usable if set(c["radiomics"]) == set(names)]  # same phases in every case
    summary = {
        "cases": len(rows),
        "usable": len(usable),
        "errors": {c["case_id"]: c["error"] for c in cases if c["status"] == "error"},
        "radiomics_extractor": extractor,
        "tasks": {},
    }
    for task in TASKS:
        summary["tasks"][task] = _fit_and_predict(task, usable, names, out, batch_dir)
    (out / "baselines.json").write_text(json.dumps(summary, indent=2))
    return summary


def _fit_and_predict(task: str, cases: list[dict], names: list[str], out: Path, batch_dir: Path | None) -> dict:
    labelled = [(c, task_label(c["class"], task)) for c in cases]
    labelled = [(c, y) for c, y in labelled if not math.isnan(y)]
    fit = [(c, y) for c, y in labelled if c["split"] in FIT_SPLITS]
    test = [(c, y) for c, y in labelled if c["split"] == "test"]
    if not fit or not test:
        return {"skipped": "needs cases in train/val and in test"}
    y_fit = np.array([y for _, y in fit], dtype=int)
    nomogram = fit_nomogram(np.array([nomogram_features(c["renal"]) for c, _ in fit]), y_fit, task)
    save_nomogram(nomogram, out / f"renal_nomogram_{task}.json")
    radiomics = fit_radiomics_model(np.array([[c["radiomics"][n] for n in names] for c, _ in fit]), y_fit, names, task)
    save_radiomics_model(radiomics, out / f"radiomics_{task}")
    deep = _deep_predictions(batch_dir, task)
    path = out / f"predictions_{task}.csv"
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            [
                "case_id",
                "label",
                "probability",
                "deep_model",
                "radiomics",
                "renal_nomogram",
                "renal_score",
                "size_group",
            ]
        )
        nomogram_p = predict_nomogram(nomogram, np.array([nomogram_features(c["renal"]) for c, _ in test]))
        radiomics_p = radiomics.predict(radiomics.feature_matrix([c["radiomics"] for c, _ in test]))
        for (case, y), p_nomogram, p_radiomics in zip(test, nomogram_p, radiomics_p):
            p_deep = deep.get(case["case_id"], "")
            # `probability` (what evaluate scores first) is the deep model when a batch run is given.
            writer.writerow(
                [
                    case["case_id"],
                    int(y),
                    p_deep if p_deep != "" else round(float(p_radiomics), 6),
                    p_deep,
                    round(float(p_radiomics), 6),
                    round(float(p_nomogram), 6),
                    case["renal"]["total"],
                    "small (<= 4 cm)" if case["renal"]["R_diameter_mm"] <= 40 else "> 4 cm",
                ]
            )
    return {
        "fit_cases": len(fit),
        "test_cases": len(test),
        "predictions": path.name,
        "probability_column": "deep_model" if deep else "radiomics",
        "radiomics_selected": radiomics.card["selected"],
        "nomogram": nomogram,
    }


def _deep_predictions(batch_dir: Path | None, task: str) -> dict:
    path = batch_dir / f"predictions_{task}.csv" if batch_dir else None
    if path is None or not path.exists():
        return {}
    with open(path, newline="") as file:
        return {row["case_id"]: row["probability"] for row in csv.DictReader(file)}


def _write_features(cases: list[dict], path: Path) -> None:
    renal_keys = sorted({k for c in cases if c["status"] == "ok" for k in c["renal"]})
    radiomics_keys = sorted({k for c in cases if c["status"] == "ok" for k in c["radiomics"]})
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(
            ["case_id", "class", "split", "status", "error", *[f"renal_{k}" for k in renal_keys], *radiomics_keys]
        )
        for c in cases:
            renal, radiomics = c.get("renal", {}), c.get("radiomics", {})
            writer.writerow(
                [
                    c["case_id"],
                    c["class"],
                    c["split"],
                    c["status"],
                    c.get("error", ""),
                    *[renal.get(k, "") for k in renal_keys],
                    *[radiomics.get(k, "") for k in radiomics_keys],
                ]
            )
