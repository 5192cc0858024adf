import json

import numpy as np
import pytest

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main
from RenalMassAILib.phantom.dicom_export import write_dicom_series
from conftest import phantom

SPEC = dict(seed=17, size=(120, 120, 48), spacing=(2.0, 2.0, 3.0), side="right", pole="upper", diameter_mm=40.0)


@pytest.fixture(scope="module")
def case_files(tmp_path_factory):
    p = phantom(**SPEC)
    return p, {k: str(v) for k, v in p.write(tmp_path_factory.mktemp("phantom")).items()}


def _prepare(tmp_path, *extra):
    out = tmp_path / "out"
    assert main(["prepare", *extra, "--out", str(out)]) == 0
    return json.loads((out / "prepare.json").read_text()), out


def test_prepare_writes_the_contract(tmp_path, case_files):
    p, files = case_files
    summary, out = _prepare(tmp_path, "-N", files["non-contrast"], "-A", files["arterial"], "-V", files["venous"],
                            "--segmentation", files["segmentation"])
    assert summary["phases_present"] == ["N", "A", "V"] and summary["reference_phase"] == "A"
    lesion = summary["lesion"]
    assert lesion["center_source"] == "segmentation"
    assert np.all(np.abs(np.subtract(lesion["center_lps"], p.lesion_center_lps)) <= np.array(SPEC["spacing"]))
    assert lesion["volume_ml"] == pytest.approx(33.5, rel=0.12)
    assert lesion["max_diameter_mm"] == pytest.approx(40, abs=4)
    assert lesion["side"] == "right"
    for phase in "NAV":
        patch = np.load(out / "inputs" / f"{phase}.npy")
        assert patch.shape == (224, 224) and patch.dtype == np.float32
        assert summary["inputs"][phase]["path"] == f"inputs/{phase}.npy"
    assert summary["geometry"]["row_direction_lps"] == [0.0, 1.0, 0.0]
    assert summary["preprocessing"]["name"] == "authors-code"
    assert (out / "inputs.png").stat().st_size > 1000


def test_user_centre_overrides_and_moves_the_patch(tmp_path, case_files):
    p, files = case_files
    centre = np.asarray(p.lesion_center_lps) + [6.0, -4.0, 3.0]
    auto, auto_out = _prepare(tmp_path / "a", "-A", files["arterial"], "--segmentation", files["segmentation"])
    moved, moved_out = _prepare(tmp_path / "b", "-A", files["arterial"], "--segmentation", files["segmentation"],
                                "--center-lps", *map(str, centre))
    assert moved["lesion"]["center_source"] == "user"
    assert moved["lesion"]["center_lps"] == pytest.approx(centre.tolist(), abs=1e-3)
    assert moved["lesion"]["volume_ml"] == auto["lesion"]["volume_ml"]  # the same component is measured
    assert not np.allclose(np.load(moved_out / "inputs" / "A.npy"), np.load(auto_out / "inputs" / "A.npy"))


def test_centre_only_without_segmentation(tmp_path, case_files):
    p, files = case_files
    summary, _ = _prepare(tmp_path, "-V", files["venous"], "--center-lps", *map(str, p.lesion_center_lps))
    assert summary["phases_present"] == ["V"] and summary["lesion"]["volume_ml"] is None


def test_paper_preset_uses_the_plane_of_largest_area(tmp_path, case_files):
    p, files = case_files
    summary, _ = _prepare(tmp_path, "-A", files["arterial"], "--segmentation", files["segmentation"],
                          "--preprocessing", "paper")
    assert summary["preprocessing"]["pixel_mm"] == pytest.approx(0.625)
    assert summary["geometry"]["center_lps"][2] == pytest.approx(summary["lesion"]["max_area_z_lps"], abs=1e-3)


def test_register_option_reports_per_phase_quality(tmp_path):
    p = phantom(**SPEC, misregistration_mm=3.0, misregistration_deg=1.0)
    files = {k: str(v) for k, v in p.write(tmp_path / "moved").items()}
    summary, _ = _prepare(tmp_path, "-N", files["non-contrast"], "-A", files["arterial"], "-V", files["venous"],
                          "--segmentation", files["segmentation"], "--register")
    for phase in "NV":
        quality = summary["alignment"][phase]
        assert quality["method"] == "rigid"
        assert quality["correlation_after"] > quality["correlation_before"]


def test_auto_phases_from_dicom_folders(tmp_path, case_files):
    p, files = case_files
    for number, (phase, description) in enumerate([(Phase.NON_CONTRAST, "NC 3mm"), (Phase.ARTERIAL, "Arterial 3mm"),
                                                   (Phase.VENOUS, "Venous 3mm")], start=1):
        write_dicom_series(p.images[phase], tmp_path / "dicom" / f"series{number}", description,
                           None if phase == Phase.NON_CONTRAST else "Iohexol", f"1000{number}0", number)
    summary, _ = _prepare(tmp_path, "--auto", str(tmp_path / "dicom" / "series1"), str(tmp_path / "dicom" / "series2"),
                          str(tmp_path / "dicom" / "series3"), "--segmentation", files["segmentation"])
    assert summary["phases_present"] == ["N", "A", "V"]
    assert summary["phase_detection"]["A"] == "name 'Arterial 3mm'"
