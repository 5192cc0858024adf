"""`renalmassai batch`: a cohort on a local Dask cluster, a failing case recorded, resumable: a rerun
skips finished cases whose settings are unchanged, retries failed ones and redoes changed ones."""

import json
import shutil

import pytest

from conftest import csv_rows, fixed_field_classifier
from RenalMassAILib.cli import main
from RenalMassAILib.cohort.manifest import case_row, write_manifest
from RenalMassAILib.phantom import PhantomSpec, make_phantom


def _cohort(folder):
    rows = []
    for number, (subtype, grade) in enumerate([("ccRCC", 4), ("classic-AML", 1), ("papillary", 2)]):
        phantom = make_phantom(
            PhantomSpec(subtype=subtype, grade=grade, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), seed=900 + number)
        )
        paths = phantom.write(folder / f"c{number}")
        rows.append(case_row(f"c{number}", paths, phantom.pathology))
    rows.append(
        {
            "case_id": "broken",
            "arterial": str(folder / "missing.nii.gz"),
            "venous": "",
            "non_contrast": "",
            "segmentation": str(folder / "c0" / "segmentation.nii.gz"),
            "class": "benign",
        }
    )
    return write_manifest(folder / "manifest.csv", rows)


def test_batch_records_failures_and_resumes(tmp_path, capsys):
    manifest = _cohort(tmp_path)
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    results = {r["case_id"]: r for r in csv_rows(out / "results.csv")}
    assert set(results) == {"c0", "c1", "c2", "broken"}
    assert results["broken"]["status"] == "error" and "no such file" in results["broken"]["error"]
    for case_id in ("c0", "c1", "c2"):
        assert results[case_id]["status"] == "ok"
        report = json.loads((out / "cases" / case_id / "report.json").read_text())
        reported = report["predictions"]["malignancy"]["probability"]
        assert float(results[case_id]["probability_malignancy"]) == pytest.approx(reported, abs=1e-4)
    predictions = csv_rows(out / "predictions_malignancy.csv")
    assert {r["case_id"] for r in predictions} == {"c0", "c1", "c2"}
    # an interrupted run: one case's result is missing; the rerun does that case and retries the failed one
    done = {c: (out / "cases" / c / "result.json").stat().st_mtime_ns for c in ("c0", "c2", "broken")}
    (out / "cases" / "c1" / "result.json").unlink()
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "1"]) == 0
    after = {c: (out / "cases" / c / "result.json").stat().st_mtime_ns for c in done}
    assert after["c0"] == done["c0"] and after["c2"] == done["c2"] and after["broken"] > done["broken"]
    assert (out / "cases" / "c1" / "result.json").exists()
    assert _decisions(out) == {
        "c0": "skipped: done with the same settings",
        "c1": "new",
        "c2": "skipped: done with the same settings",
        "broken": "retry: it failed before",
    }
    captured = capsys.readouterr()
    assert "3 of 4 cases analyzed; failed: broken" in captured.out
    assert "this run: new 1, retry 1, skipped 2" in captured.err


def _decisions(out):
    return json.loads((out / "batch.json").read_text())["cases"]


def test_resume_retries_failures_and_redoes_cases_whose_settings_changed(tmp_path, capsys):
    import torch

    from RenalMassAILib.classify.model_package import load_package, write_package
    from RenalMassAILib.resources import resources_dir

    phantom = make_phantom(PhantomSpec(subtype="ccRCC", grade=3, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), seed=950))
    paths = phantom.write(tmp_path / "c0")
    model = tmp_path / "model"
    shutil.copytree(resources_dir() / "Models" / "demo-shared-resnet18", model)
    late = tmp_path / "late" / "arterial.nii.gz"  # not there at the first run
    manifest = write_manifest(
        tmp_path / "manifest.csv",
        [
            {
                "case_id": "c0",
                "arterial": paths["arterial"],
                "segmentation": paths["segmentation"],
                "class": "aggressive",
            },
            {"case_id": "late", "arterial": str(late), "segmentation": paths["segmentation"], "class": "aggressive"},
        ],
    )
    out = tmp_path / "out"

    def run(*options):
        assert (
            main(
                [
                    "batch",
                    str(manifest),
                    "--out",
                    str(out),
                    "--workers",
                    "0",
                    "--malignancy-model",
                    str(model),
                    "--aggressiveness-model",
                    str(model),
                    *options,
                ]
            )
            == 0
        )
        return {c: json.loads((out / "cases" / c / "result.json").read_text()) for c in ("c0", "late")}

    first = run()
    assert first["c0"]["status"] == "ok" and first["late"]["status"] == "error"
    assert first["c0"]["case_settings"]["preprocessing"] == "authors-code"
    assert first["c0"]["case_settings"]["malignancy_model"]["path"] == str(model.resolve())
    assert first["c0"]["case_settings"]["inputs"]["images"]["A"][0] == str(paths["arterial"])

    late.parent.mkdir()
    shutil.copy(paths["arterial"], late)  # the missing image arrives: the failed case is retried
    second = run()
    assert _decisions(out) == {"c0": "skipped: done with the same settings", "late": "retry: it failed before"}
    assert second["late"]["status"] == "ok" and second["c0"] == first["c0"]  # c0 untouched

    (out / "cases" / "late" / "stale.txt").write_text("from an earlier run")
    third = run("--preprocessing", "paper")  # an option changed: every finished case is redone
    assert _decisions(out) == {c: "redo: settings changed (preprocessing)" for c in ("c0", "late")}
    assert third["c0"]["case_settings"]["preprocessing"] == "paper"
    assert not (out / "cases" / "late" / "stale.txt").exists()  # a redone case starts from an empty folder
    assert run("--preprocessing", "paper") == third  # and then skipped
    assert set(_decisions(out).values()) == {"skipped: done with the same settings"}

    package = load_package(model)  # the model is retrained in place: new weights, new SHA-256 in model.json
    with torch.no_grad():
        package.network.state_dict()[next(iter(package.network.state_dict()))].add_(0.5)
    card = {k: v for k, v in package.card.fields.items() if k not in ("format", "weights")}
    write_package(model, package.network, card)
    fourth = run("--preprocessing", "paper")
    assert _decisions(out) == {
        c: "redo: settings changed (aggressiveness_model, malignancy_model)" for c in ("c0", "late")
    }
    assert fourth["c0"]["case_settings"]["malignancy_model"] != third["c0"]["case_settings"]["malignancy_model"]
    assert fourth["c0"]["probability_malignancy"] != third["c0"]["probability_malignancy"]


def test_a_result_without_recorded_settings_is_redone_and_a_broken_one_rerun(tmp_path):
    from RenalMassAILib.cohort.batch import _decision

    result = tmp_path / "result.json"
    result.write_text(json.dumps({"case_id": "c0", "status": "ok"}))  # written before settings were recorded
    assert (
        _decision(result, {"preprocessing": "paper"}) == "redo: its settings were not recorded (an earlier "
        "version's result)"
    )
    result.write_text("{")
    assert _decision(result, {}) == "rerun: its result.json was unreadable"
    assert _decision(tmp_path / "absent.json", {}) == "new"


def test_batch_labels_option_reads_a_totalsegmentator_map(tmp_path):
    """Real CT with TotalSegmentator's 117-label map (Testing/data/totalsegmentator, Apache-2.0)."""
    from pathlib import Path

    data = Path(__file__).parent / "data" / "totalsegmentator"
    manifest = write_manifest(
        tmp_path / "manifest.csv",
        [
            {
                "case_id": "ts",
                "arterial": str(data / "example_ct_sm.nii.gz"),
                "segmentation": str(data / "example_seg.nii.gz"),
                "center_lps": "-64.4 -125.3 118.2",
            }
        ],
    )
    out = tmp_path / "out"
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "0"]) == 0
    refused = json.loads((out / "cases" / "ts" / "result.json").read_text())
    assert refused["status"] == "error" and "--labels" in refused["error"] and "example_seg.nii.gz" in refused["error"]
    # kidneys only, no mass: a classifier on the fixed field (the bundled one sizes its field to the mass)
    models = [
        "--malignancy-model",
        str(fixed_field_classifier()),
        "--aggressiveness-model",
        str(fixed_field_classifier()),
    ]
    assert main(["batch", str(manifest), "--out", str(out), "--workers", "0", "--labels", "kidney=2+3", *models]) == 0
    result = json.loads((out / "cases" / "ts" / "result.json").read_text())
    assert result["status"] == "ok" and result["case_settings"]["labels"] == "kidney=2+3"
    report = json.loads((out / "cases" / "ts" / "report.json").read_text())
    assert report["lesion"]["tumor_components"] == 0 and report["lesion"]["volume_ml"] is None
    assert report["segmentation_labels"]["meanings"] == {"kidney": [2, 3]}
