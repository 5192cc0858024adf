"""`renalmassai batch`: a cohort on a local Dask cluster, a failing case recorded, resumable."""

import csv

from RenalMassAILib.cli import main
from RenalMassAILib.cohort.manifest import write_manifest
from RenalMassAILib.phantom import PhantomSpec, make_phantom


def _cohort(folder):
    rows = []
    for number, (subtype, grade) in enumerate([("ccRCC", 4), ("classic-AML", 1), ("papillary", 2)]):
        phantom = make_phantom(PhantomSpec(subtype=subtype, grade=grade, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0),
                                           seed=900 + number))
        paths = phantom.write(folder / f"c{number}")
        rows.append({"case_id": f"c{number}", "arterial": paths["arterial"], "venous": paths["venous"],
                     "non_contrast": paths["non-contrast"], "segmentation": paths["segmentation"],
                     "class": phantom.pathology})
    rows.append({"case_id": "broken", "arterial": str(folder / "missing.nii.gz"), "venous": "", "non_contrast": "",
                 "segmentation": str(folder / "c0" / "segmentation.nii.gz"), "class": "benign"})
    return write_manifest(folder / "manifest.csv", rows)


def test_batch_records_failures_and_resumes(tmp_path, capsys):
    manifest = _cohort(tmp_path)
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    results = {r["case_id"]: r for r in csv.DictReader(open(out / "results.csv"))}
    assert set(results) == {"c0", "c1", "c2", "broken"}
    assert results["broken"]["status"] == "error" and "no such file" in results["broken"]["error"]
    for case_id in ("c0", "c1", "c2"):
        assert results[case_id]["status"] == "ok" and 0 <= float(results[case_id]["probability_malignancy"]) <= 1
        assert (out / "cases" / case_id / "report.json").exists()
    predictions = list(csv.DictReader(open(out / "predictions_malignancy.csv")))
    assert {r["case_id"] for r in predictions} == {"c0", "c1", "c2"}
    # an interrupted run: one case's result is missing; the rerun does that case only
    done = {c: (out / "cases" / c / "result.json").stat().st_mtime_ns for c in ("c0", "c2", "broken")}
    (out / "cases" / "c1" / "result.json").unlink()
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    assert {c: (out / "cases" / c / "result.json").stat().st_mtime_ns for c in done} == done
    assert (out / "cases" / "c1" / "result.json").exists()
    assert "3 of 4 cases analysed; failed: broken" in capsys.readouterr().out
