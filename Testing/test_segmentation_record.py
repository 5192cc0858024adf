"""What segmentation.json and report.json say about the segmentation model, and the demo model's
warning on images that are not the bundled phantom (here a real CT: TotalSegmentator's
example_ct.nii.gz, github.com/wasserth/TotalSegmentator tests/reference_files, Apache-2.0, copied
with its LICENSE into Testing/data/totalsegmentator)."""

import json
import shutil
from pathlib import Path

import pytest
import SimpleITK as sitk

from conftest import fixed_field_classifier, phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.demo_input_check import is_bundled_phantom
from RenalMassAILib.lesion.nnunet_model import IDENTITY_FILE, open_segmentation_model
from RenalMassAILib.present.report import DEMO_BANNER
from RenalMassAILib.present.summary_page import write_summary_page
from RenalMassAILib.resources import demo_case_dir, demo_segmentation_model

REAL_CT = Path(__file__).parent / "data" / "totalsegmentator" / "example_ct.nii.gz"
LEFT_KIDNEY_LPS = ("76", "-121", "360")  # where the localisation puts the left kidney (test_kidney_localisation_real)


def test_the_bundled_demo_model_says_it_is_a_demo():
    identity = open_segmentation_model(demo_segmentation_model()).identity
    assert (identity.id, identity.demo) == ("demo-nnunet-phantom", True)
    assert "phantoms" in identity.trained_on


def test_a_model_without_a_card_is_named_by_its_dataset_and_weights(tmp_path):
    copy = tmp_path / demo_segmentation_model().name
    shutil.copytree(demo_segmentation_model(), copy)
    (copy / IDENTITY_FILE).unlink()
    identity = open_segmentation_model(copy).identity
    assert identity.demo is False
    assert identity.id == f"RenalPhantom/{copy.name}" and identity.version.startswith("sha256:")
    assert len(identity.version) == len("sha256:") + 12
    (copy / IDENTITY_FILE).write_text(json.dumps({"id": "x"}))
    with pytest.raises(InputError, match=f"{IDENTITY_FILE} needs a string 'id' and a true/false 'demo'"):
        open_segmentation_model(copy)


def test_only_the_bundled_phantom_counts_as_the_bundled_phantom():
    assert is_bundled_phantom(sitk.ReadImage(str(demo_case_dir() / "venous.nii.gz")))
    assert is_bundled_phantom(sitk.Cast(sitk.ReadImage(str(demo_case_dir() / "venous.nii.gz")), sitk.sitkFloat32))
    assert not is_bundled_phantom(sitk.ReadImage(str(REAL_CT)))
    assert not is_bundled_phantom(phantom(seed=3, size=(64, 64, 16), spacing=(4.0, 4.0, 8.0)).images[Phase.VENOUS])


def test_demo_model_on_a_real_ct_is_recorded_as_demo_and_warns_everywhere(tmp_path, capsys):
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                "-V",
                str(REAL_CT),
                "--seg-model",
                str(demo_segmentation_model()),
                "--center-lps",
                *LEFT_KIDNEY_LPS,
                "--mirroring",
                "off",
                "--no-bf16",
                "--no-screenshots",
                # the demo model finds no mass on this real CT: a classifier on the fixed field
                "--malignancy-model",
                str(fixed_field_classifier()),
                "--aggressiveness-model",
                str(fixed_field_classifier()),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    report = json.loads((out / "report.json").read_text())
    segmentation = report["segmentation"]
    assert segmentation["model"]["id"] == "demo-nnunet-phantom" and segmentation["model"]["demo"] is True
    assert segmentation["model"]["version"] == "nnUNetTrainer_20epochs"
    warning = segmentation["warnings"][0]
    assert "trained on synthetic phantoms only" in warning and "not the bundled phantom" in warning
    assert report["warnings"] == [warning]
    assert report["demo"] is True and report["notice"] == DEMO_BANNER
    assert warning in captured.err and warning in captured.out
    page = write_summary_page(report, {}, tmp_path).read_text()
    assert DEMO_BANNER in page and warning in page and "demo-nnunet-phantom" in page


def test_the_demo_banner_can_carry_the_warning():
    from vtkmodules.vtkRenderingCore import vtkRenderer

    from RenalMassAILib.scene.annotations import ViewAnnotations

    class View:  # what ViewAnnotations uses of a view: its window's size and an overlay renderer
        overlay = vtkRenderer()

        class window:
            @staticmethod
            def GetSize():
                return (640, 640)

    warning = "WARNING: the demo segmentation model (x) was trained on synthetic phantoms only and this image is not"
    notes = ViewAnnotations(View())
    notes.demo_banner((warning,))
    text = notes.actors[0].GetInput()
    assert text.splitlines()[0] == DEMO_BANNER
    assert " ".join(text.splitlines()[1:]) == warning and max(len(line) for line in text.splitlines()) <= 71
    notes.clear()
    notes.demo_banner()
    assert notes.actors[0].GetInput() == DEMO_BANNER


def test_the_record_says_when_the_fast_path_fell_back_to_the_whole_volume():
    from RenalMassAILib.lesion.segmentation_record import segmentation_record

    model = open_segmentation_model(demo_segmentation_model())
    whole = {"boxes": [{"low_ijk": [0, 0, 0], "high_ijk": [122, 101, 30]}], "volumes_ml": {}}
    box = {"boxes": [{"low_ijk": [10, 0, 0], "high_ijk": [90, 80, 30]}], "volumes_ml": {}}
    fell_back = segmentation_record(model, Phase.VENOUS, (122, 101, 30), {"fast": True}, {}, whole, None)
    assert fell_back["whole_volume_fallback"] is True and fell_back["warnings"] == []
    assert (
        segmentation_record(model, Phase.VENOUS, (122, 101, 30), {"fast": True}, {}, box, None)["whole_volume_fallback"]
        is False
    )
    asked = segmentation_record(model, Phase.VENOUS, (122, 101, 30), {"fast": False}, {}, whole, None)
    assert asked["whole_volume_fallback"] is False  # --whole-volume was asked for: not a fallback
    assert fell_back["model"]["demo"] is True and fell_back["phases_read"] == ["V"]
    # A worker's run is recorded with the options the worker was asked ({} = its defaults, fast path
    # included) and says itself whether it fell back: its word is kept, whatever the options say.
    worker_fell_back = {**whole, "whole_volume_fallback": True}
    assert segmentation_record(model, Phase.VENOUS, (122, 101, 30), {}, {}, worker_fell_back, None)[
        "whole_volume_fallback"
    ]
    worker_kept_box = {**whole, "whole_volume_fallback": False}
    assert not segmentation_record(model, Phase.VENOUS, (122, 101, 30), {"fast": True}, {}, worker_kept_box, None)[
        "whole_volume_fallback"
    ]


def test_the_run_summary_names_model_demo_backend_and_passes_and_copes_with_a_sparse_record():
    from RenalMassAILib.lesion.segmentation_record import run_summary

    record = {
        "model": {"id": "kits", "version": "2", "demo": False},
        "backend": {"backend": "openvino", "precision": "int8"},
        "forward_passes": 9,
        "seconds": 16.1,
    }
    assert run_summary(record) == "model kits 2; network in openvino int8; 9 forward passes in 16.1 s"
    # a segmentation.json written by hand beside a label map: only what it says, DEMO kept
    assert run_summary({"model": {"id": "demo-nnunet", "demo": True}}) == "model demo-nnunet (DEMO)"
