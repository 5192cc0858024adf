"""Segmentation through nnU-Net v2's real predictor with the bundled demo model."""

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
import SimpleITK as sitk
import torch

from conftest import phantom, phase_arguments
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main
from RenalMassAILib.lesion.kidney_localisation import locate_kidneys
from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.nnunet_predictor import MIRROR_BUDGET, nnunet_predictor
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.lesion.segmentation_region import patch_voxels
from RenalMassAILib.resources import demo_segmentation_model
from RenalMassAILib.workers.segmentation_job import SegmentationJob
from RenalMassAILib.workers.worker_error import WorkerError

SPEC = dict(seed=7901, subtype="ccRCC", diameter_mm=45.0, side="left", pole="mid", extra_cysts=1, size=(112, 112, 36),
            spacing=(2.5, 2.5, 4.0))  # fmt: skip
KIDNEY_DICE_BAR, TUMOR_DICE_BAR = 0.80, 0.60  # held-out phantom, tiny CPU-trained demo model


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / max(1.0, float(a.sum() + b.sum()))


@pytest.fixture(scope="module")
def case():
    return phantom(**SPEC)


@pytest.fixture(scope="module")
def fast_result(case):
    """The fast path without a point: boxes around the kidneys found by the coarse localisation."""
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    return segment(case.case(), model)


def test_fast_path_around_a_point_finds_the_tumor(case):
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    result = segment(case.case(), model, case.lesion_center_lps)
    assert result.regions == 1
    truth = sitk.GetArrayViewFromImage(case.labels) == 2
    assert _dice(truth, sitk.GetArrayViewFromImage(result.label_map.image) == 2) > TUMOR_DICE_BAR


def test_one_patch_gets_all_mirrors_within_the_budget(case):
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    auto = segment(case.case(), model, case.lesion_center_lps, SegmentationOptions(grow=False))
    callers_threads = torch.get_num_threads()
    options = SegmentationOptions(grow=False, mirroring=False, threads=callers_threads + 1)
    plain = segment(case.case(), model, case.lesion_center_lps, options)
    assert (auto.forward_passes, plain.forward_passes) == (MIRROR_BUDGET, 1)  # one patch: 8 mirrors / none
    assert torch.get_num_threads() == callers_threads  # --threads applied to the call only


def test_growth_is_decided_on_one_unmirrored_pass_and_the_kept_box_gets_the_mirrors(case):
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    kept = segment(case.case(), model, case.lesion_center_lps)  # the mass and kidney fit the first box
    fixed = segment(case.case(), model, case.lesion_center_lps, SegmentationOptions(grow=False))
    # the probe's unmirrored pass is reused as the kept box's unmirrored pass: 1 + 7, not 1 + 8
    assert kept.growths == 0 and (kept.forward_passes, fixed.forward_passes) == (MIRROR_BUDGET, MIRROR_BUDGET)
    # the same box with the same mirrors: the same labels, but for the few voxels that the phase
    # registration's run-to-run variation (ITK's multithreaded metric, thousandths of a mm) may flip
    first, second = (sitk.GetArrayViewFromImage(r.label_map.image) for r in (kept, fixed))
    assert (first != second).sum() <= 0.001 * max((first > 0).sum(), 1)
    grown = segment(case.case(), model, case.lesion_center_lps, SegmentationOptions(region_mm=(50.0, 50.0, 24.0)))
    # one probe pass of the small box, then the grown box (one tile) with all its mirrors: not 8 + 8
    assert grown.growths == 1 and grown.forward_passes == 1 + MIRROR_BUDGET


def test_a_kept_box_reuses_its_probes_unmirrored_pass_and_gets_the_same_result():
    """The pass of the probe equals the unmirrored pass that nnU-Net's mirroring makes next: reused, it
    saves a pass and changes nothing (the probabilities are equal to a run without the probe)."""
    model = open_segmentation_model(demo_segmentation_model())
    predictor = nnunet_predictor(model, None, 1.0, False, torch.device("cpu"), lambda *args: None, "torch")
    volume = np.random.default_rng(5).normal(0, 300, size=(1, 30, 60, 60)).astype(np.float32)

    def probabilities(probe: bool) -> tuple[np.ndarray, int]:
        before = predictor.evaluations
        predictor.probe = probe
        try:
            result = predictor.predict_single_npy_array(volume, {"spacing": [3.0, 2.0, 2.0]}, None, None, True)
        finally:
            predictor.probe = False
        return result[1], predictor.evaluations - before

    _, probe_passes = probabilities(probe=True)
    reused, passes_after_probe = probabilities(probe=False)
    predictor.forget_probe()
    fresh, passes_fresh = probabilities(probe=False)
    assert (probe_passes, passes_after_probe, passes_fresh) == (1, MIRROR_BUDGET - 1, MIRROR_BUDGET)
    assert np.array_equal(reused, fresh)


def test_a_box_too_small_for_the_mass_grows_to_hold_it(case):
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    small = SegmentationOptions(region_mm=(50.0, 50.0, 24.0), mirroring=False)
    cut = segment(case.case(), model, case.lesion_center_lps, dataclasses.replace(small, grow=False))
    whole = segment(case.case(), model, case.lesion_center_lps, small)
    truth = sitk.GetArrayViewFromImage(case.labels) == 2
    assert cut.growths == 0 and whole.growths == 1
    assert whole.volumes_ml["tumor"] > 1.2 * cut.volumes_ml["tumor"]  # a 45 mm mass is not inside 24 mm

    inside_cut, inside_grown = (truth[result.boxes[0].array_slices()].sum() for result in (cut, whole))
    assert inside_cut < 0.8 * truth.sum() < 0.9 * truth.sum() < inside_grown


def test_demo_model_segments_a_held_out_phantom(case, fast_result):
    truth = sitk.GetArrayViewFromImage(case.labels)
    found = sitk.GetArrayViewFromImage(fast_result.label_map.image)
    assert fast_result.label_map.image.GetSize() == case.labels.GetSize()
    assert np.allclose(fast_result.label_map.image.GetOrigin(), case.labels.GetOrigin())
    assert np.allclose(fast_result.label_map.image.GetDirection(), case.labels.GetDirection())
    kidney = _dice((truth == 1) | (truth == 2), (found == 1) | (found == 2))  # kidney with its mass, as KiTS scores it
    tumor = _dice(truth == 2, found == 2)
    assert kidney > KIDNEY_DICE_BAR, kidney
    assert tumor > TUMOR_DICE_BAR, tumor
    assert fast_result.volumes_ml["tumor"] > 0


def test_fast_path_agrees_with_the_default_path(case, fast_result):
    model = open_segmentation_model(demo_segmentation_model(), case.case().phases)
    default = segment(
        case.case(), model, None, SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, bf16=False)
    )
    assert default.regions == 1 and default.forward_passes > fast_result.forward_passes
    fast = sitk.GetArrayViewFromImage(fast_result.label_map.image)
    whole = sitk.GetArrayViewFromImage(default.label_map.image)
    assert _dice(fast == 2, whole == 2) > 0.9


def test_segment_command_records_what_it_did(tmp_path, case):
    files = {k: str(v) for k, v in case.write(tmp_path / "case").items()}
    out = tmp_path / "out"
    center = [str(v) for v in case.lesion_center_lps]
    assert (
        main(
            [
                "segment",
                "-V",
                files["venous"],
                "--seg-model",
                str(demo_segmentation_model()),
                "--center-lps",
                *center,
                "--mirroring",
                "off",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    record = json.loads((out / "segmentation.json").read_text())
    assert record["model"]["id"] == "demo-nnunet-phantom" and record["model"]["demo"] is True
    assert record["phases_read"] == ["V"] and record["alignment"] == {}  # the venous phase is the reference here
    assert "not the bundled phantom" in record["warnings"][0]  # a generated phantom, not the bundled one
    assert record["whole_volume_fallback"] is False
    assert record["options"]["mirroring"] is False and record["options"]["fast"] is True
    reference = sitk.ReadImage(files["venous"])
    (box,) = record["boxes"]
    size = np.subtract(box["high_ijk"], box["low_ijk"])
    patch = patch_voxels(reference, open_segmentation_model(demo_segmentation_model(), case.case().phases).patch_mm)
    assert record["growths"] == int(bool((size > patch).any()))  # a box beyond one patch is a grown box
    center_index = reference.TransformPhysicalPointToIndex(case.lesion_center_lps)
    assert all(lo <= c < hi for lo, c, hi in zip(box["low_ijk"], center_index, box["high_ijk"]))
    assert record["volumes_ml"]["tumor"] > 0


def test_coarse_localisation_finds_both_kidneys(case):
    boxes = locate_kidneys(case.images[Phase.ARTERIAL])
    assert len(boxes) == 2
    center = np.asarray(case.lesion_center_lps)
    assert any(np.all(np.abs(center - c) < s / 2) for c, s in boxes)


LAUNCHER = """#!{python}
# Stands in for PythonSlicer: a launcher that runs the real interpreter as its child.
import subprocess, sys
sys.exit(subprocess.call([{python!r}, *sys.argv[1:]]))
"""


def test_cancelling_a_running_worker_leaves_no_process_and_no_files(tmp_path, monkeypatch):
    monkeypatch.setenv("RENALMASSAI_LOGS", str(tmp_path / "logs"))
    launcher = tmp_path / "PythonSlicer"
    launcher.write_text(LAUNCHER.format(python=sys.executable))
    launcher.chmod(0o755)
    big = phantom(**{**SPEC, "size": (160, 160, 60), "spacing": (1.8, 1.8, 2.5)})
    job = SegmentationJob(
        {"V": big.images[Phase.VENOUS]},
        demo_segmentation_model(),
        tmp_path / "labels.nii.gz",
        options={"fast": False, "mirroring": True, "bf16": False},
        python=str(launcher),
    )
    temporary = job.temporary
    assert (temporary / "V.nii.gz").exists()  # the patient image the worker reads
    tree, worker_parents = [], []
    for message in job.progress():
        if message["stage"] == "predict" and message["step"] >= 1:
            tree = psutil.Process(job.process.pid).children(recursive=True)
            worker_parents = [p.ppid() for p in tree if "segmentation_worker" in " ".join(p.cmdline())]
            job.cancel()
            break
    assert worker_parents == [job.process.pid]  # the worker is the launcher's child: a grandchild of the test
    assert job.process.poll() is not None
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree)  # the whole tree is gone
    assert not temporary.exists()
    assert not (tmp_path / "labels.nii.gz").exists()
    assert job.log_path.parent == tmp_path / "logs" and "segmentation_worker" in job.log_path.read_text()


def test_a_worker_that_fails_names_its_log(tmp_path, monkeypatch, case):
    monkeypatch.setenv("RENALMASSAI_LOGS", str(tmp_path / "logs"))
    crashing = tmp_path / "crashing-python"  # an interpreter that dies at once, as a broken install would
    crashing.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    crashing.chmod(0o755)
    job = SegmentationJob(
        {"V": case.images[Phase.VENOUS]}, demo_segmentation_model(), tmp_path / "labels.nii.gz", python=str(crashing)
    )
    with pytest.raises(WorkerError) as raised:
        list(job.progress())
    message = str(raised.value)
    assert "exit status 1" in message and "init_fs_encoding" in message and str(job.log_path) in message
    assert not job.temporary.exists()
    polled = SegmentationJob(
        {"V": case.images[Phase.VENOUS]}, demo_segmentation_model(), tmp_path / "labels.nii.gz", python=str(crashing)
    )
    polled.watch()  # the GUI's way: the same error as one message, without a thread
    deadline, found = time.monotonic() + 30, []
    while not found and time.monotonic() < deadline:
        found = polled.messages()
        time.sleep(0.02)
    assert [m["stage"] for m in found] == ["error"] and found[0]["log_path"] == str(polled.log_path)
    assert "init_fs_encoding" in found[0]["message"] and "init_fs_encoding" in found[0]["traceback"]
    assert not polled.temporary.exists() and polled.messages() == []


def test_a_finished_job_removes_its_temporary_files(tmp_path, case, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the worker finds the library through PYTHONPATH, not the working folder
    monkeypatch.delenv("PYTHONPATH", raising=False)
    monkeypatch.setenv("RENALMASSAI_LOGS", str(tmp_path / "logs"))
    job = SegmentationJob(
        {"V": case.images[Phase.VENOUS]},
        demo_segmentation_model(),
        tmp_path / "labels.nii.gz",
        center_lps=case.lesion_center_lps,
    )
    job.watch()  # the GUI's way: poll without blocking
    stages = []
    while not stages or stages[-1] not in ("done", "error"):
        stages += [m["stage"] for m in job.messages()]
        time.sleep(0.05)
    assert stages[-1] == "done" and "predict" in stages
    assert job.result["volumes_ml"]["tumor"] > 0
    assert not job.temporary.exists() and (tmp_path / "labels.nii.gz").exists()


def test_analyze_segments_when_no_segmentation_is_given(tmp_path, case):
    files = {k: str(v) for k, v in case.write(tmp_path / "case").items()}
    assert (
        main(
            [
                "analyze",
                *phase_arguments(files, "AV"),
                "--seg-model",
                str(demo_segmentation_model()),
                "--out",
                str(tmp_path / "out"),
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["lesion"]["volume_ml"] > 5
    assert np.linalg.norm(np.subtract(report["lesion"]["center_lps"], case.lesion_center_lps)) < 10
    assert (tmp_path / "out" / "segmentation.nii.gz").exists()


PLANS = {"configurations": {"3d_fullres": {"patch_size": [128, 128, 128], "spacing": [1.0, 0.78, 0.78]}}}


def _model_folder(root: Path, dataset: dict | None, plans: dict | None = PLANS, checkpoint: bool = True) -> Path:
    folder = root / "Dataset999_X" / "nnUNetTrainer__nnUNetPlans__3d_fullres"
    (folder / "fold_0").mkdir(parents=True)
    if dataset is not None:
        (folder / "dataset.json").write_text(json.dumps(dataset))
    if plans is not None:
        (folder / "plans.json").write_text(json.dumps(plans))
    if checkpoint:
        (folder / "fold_0" / "checkpoint_final.pth").write_bytes(b"")
    return folder


KITS = {"channel_names": {"0": "CT"}, "labels": {"background": 0, "kidney": 1, "tumor": 2, "cyst": 3}}


@pytest.mark.parametrize(
    "dataset, plans, checkpoint, message",
    [
        (None, PLANS, True, "dataset.json is missing"),
        (KITS, None, True, "plans.json is missing"),
        (KITS, {"configurations": {"3d_fullres": {}}}, True, "plans.json has no patch_size and spacing"),
        (KITS, PLANS, False, "no fold_*/checkpoint_final.pth"),
        ({"channel_names": {"0": "CT"}, "labels": {"background": 0, "liver": 1}}, PLANS, True, "no tumor label"),
        (
            {"channel_names": {"0": "arterial", "1": "non-contrast"}, "labels": KITS["labels"]},
            PLANS,
            True,
            "the case lacks non-contrast",
        ),
    ],
)
def test_a_broken_model_folder_gives_a_clear_error(tmp_path, capsys, case, dataset, plans, checkpoint, message):
    folder = _model_folder(tmp_path, dataset, plans, checkpoint)
    files = {k: str(v) for k, v in case.write(tmp_path / "case").items()}
    assert main(["segment", "-A", files["arterial"], "--seg-model", str(folder), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and str(folder) in err and len(err.splitlines()) == 1


def test_kits23_region_labels_map_to_kidney_tumor_cyst(tmp_path):
    dataset = {
        "channel_names": {"0": "CT"},
        "regions_class_order": [1, 3, 2],
        "labels": {"background": 0, "kidney": [1, 2, 3], "masses": [2, 3], "tumor": 2},
    }
    model = open_segmentation_model(_model_folder(tmp_path, dataset))
    assert model.output_values == {"kidney": 1, "tumor": 2, "cyst": 3}
    assert model.channels == (None,)  # one channel: the reference phase
