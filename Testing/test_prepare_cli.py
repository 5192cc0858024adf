import json
from pathlib import Path

import numpy as np
import pytest

from conftest import phantom, phase_arguments
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main
from RenalMassAILib.phantom.dicom_export import write_dicom_series

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
    summary, out = _prepare(tmp_path, *phase_arguments(files), "--segmentation", files["segmentation"])
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
    import SimpleITK as sitk

    labels = summary["segmentation_labels"]
    assert labels["values_found"] == np.unique(sitk.GetArrayViewFromImage(p.labels)).tolist()
    assert labels["given_as"].startswith("default") and labels["meanings"]["tumor"] == [2]


def test_user_center_overrides_and_moves_the_patch(tmp_path, case_files):
    p, files = case_files
    center = np.asarray(p.lesion_center_lps) + np.array([6.0, -4.0, 3.0])
    auto, auto_out = _prepare(tmp_path / "a", "-A", files["arterial"], "--segmentation", files["segmentation"])
    moved, moved_out = _prepare(
        tmp_path / "b",
        "-A",
        files["arterial"],
        "--segmentation",
        files["segmentation"],
        "--center-lps",
        *map(str, center),
    )
    assert moved["lesion"]["center_source"] == "user"
    assert moved["lesion"]["center_lps"] == pytest.approx(center.tolist(), abs=1e-3)
    assert moved["lesion"]["volume_ml"] == auto["lesion"]["volume_ml"]  # the same component is measured
    assert not np.allclose(np.load(moved_out / "inputs" / "A.npy"), np.load(auto_out / "inputs" / "A.npy"))


def test_center_only_without_segmentation(tmp_path, case_files):
    p, files = case_files
    summary, _ = _prepare(tmp_path, "-V", files["venous"], "--center-lps", *map(str, p.lesion_center_lps))
    assert summary["phases_present"] == ["V"] and summary["lesion"]["volume_ml"] is None


def test_paper_preset_uses_the_plane_of_largest_area(tmp_path, case_files):
    _p, files = case_files
    summary, _ = _prepare(
        tmp_path, "-A", files["arterial"], "--segmentation", files["segmentation"], "--preprocessing", "paper"
    )
    assert summary["preprocessing"]["pixel_mm"] == pytest.approx(0.625)
    assert summary["geometry"]["center_lps"][2] == pytest.approx(summary["lesion"]["max_area_z_lps"], abs=1e-3)


def test_register_option_reports_per_phase_quality(tmp_path):
    p = phantom(**SPEC, misregistration_mm=3.0, misregistration_deg=1.0)
    files = {k: str(v) for k, v in p.write(tmp_path / "moved").items()}
    summary, _ = _prepare(tmp_path, *phase_arguments(files), "--segmentation", files["segmentation"], "--register")
    for phase in "NV":
        quality = summary["alignment"][phase]
        assert quality["method"] == "rigid"
        assert quality["correlation_after"] > quality["correlation_before"]


def test_auto_phases_from_dicom_folders(tmp_path, case_files):
    p, files = case_files
    for number, (phase, description) in enumerate(
        [(Phase.NON_CONTRAST, "NC 3mm"), (Phase.ARTERIAL, "Arterial 3mm"), (Phase.VENOUS, "Venous 3mm")], start=1
    ):
        write_dicom_series(
            p.images[phase],
            tmp_path / "dicom" / f"series{number}",
            description,
            None if phase == Phase.NON_CONTRAST else "Iohexol",
            f"1000{number}0",
            number,
        )
    summary, _ = _prepare(
        tmp_path,
        "--auto",
        str(tmp_path / "dicom" / "series1"),
        str(tmp_path / "dicom" / "series2"),
        str(tmp_path / "dicom" / "series3"),
        "--segmentation",
        files["segmentation"],
    )
    assert summary["phases_present"] == ["N", "A", "V"]
    assert summary["phase_detection"]["A"] == "name 'Arterial 3mm'"


# Real CT and TotalSegmentator's 117-label map of it (Testing/data/totalsegmentator: TotalSegmentator's
# tests/reference_files, Apache-2.0): 2 = right kidney, 3 = left kidney, no tumor.
TOTALSEGMENTATOR = Path(__file__).parent / "data" / "totalsegmentator"
RIGHT_KIDNEY_LPS = ("-6.4445e1", "-125.3", "118.2")  # inside label 2, written in exponent notation


def test_a_totalsegmentator_map_is_refused_without_label_meanings(tmp_path, capsys):
    code = main(
        [
            "prepare",
            "-A",
            str(TOTALSEGMENTATOR / "example_ct_sm.nii.gz"),
            "--segmentation",
            str(TOTALSEGMENTATOR / "example_seg.nii.gz"),
            "--center-lps",
            *RIGHT_KIDNEY_LPS,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "example_seg.nii.gz" in err and "holds labels 1, 2, 3" in err and "117 (41 labels besides 0)" in err
    assert "--labels" in err
    assert not (tmp_path / "out" / "prepare.json").exists()


@pytest.mark.parametrize("meanings", ["kidney=2+3", "dataset.json"])
def test_a_totalsegmentator_map_with_named_labels_reports_no_tumor(tmp_path, meanings):
    if meanings == "dataset.json":  # TotalSegmentator's own label names, as its nnU-Net dataset.json gives them
        names = {
            "background": 0,
            "spleen": 1,
            "kidney_right": 2,
            "kidney_left": 3,
            "gallbladder": 4,
            "liver": 5,
            "kidney_cyst_left": 116,
            "kidney_cyst_right": 117,
        }
        meanings = str(tmp_path / "dataset.json")
        Path(meanings).write_text(json.dumps({"labels": names, "channel_names": {"0": "CT"}}))
    summary, _ = _prepare(
        tmp_path,
        "-A",
        str(TOTALSEGMENTATOR / "example_ct_sm.nii.gz"),
        "--segmentation",
        str(TOTALSEGMENTATOR / "example_seg.nii.gz"),
        "--labels",
        meanings,
        "--center-lps",
        *RIGHT_KIDNEY_LPS,
    )
    lesion = summary["lesion"]
    assert lesion["tumor_components"] == 0 and lesion["volume_ml"] is None  # label 2 is a kidney, not a tumor
    assert lesion["center_source"] == "user"
    assert lesion["center_lps"] == pytest.approx([-64.445, -125.3, 118.2], abs=1e-3)
    record = summary["segmentation_labels"]
    assert record["meanings"]["kidney"] == [2, 3] and "tumor" not in record["meanings"]
    assert (
        1 in record["set_to_background"] and 5 in record["set_to_background"] and 2 not in record["set_to_background"]
    )


def test_a_totalsegmentator_map_read_with_its_kidney_values():
    import SimpleITK as sitk

    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.lesion.label_meanings import parse_label_meanings

    ct = sitk.ReadImage(str(TOTALSEGMENTATOR / "example_ct_sm.nii.gz"))
    label_map = read_label_map(TOTALSEGMENTATOR / "example_seg.nii.gz", ct, meanings=parse_label_meanings("kidney=2+3"))
    source = sitk.GetArrayFromImage(sitk.ReadImage(str(TOTALSEGMENTATOR / "example_seg.nii.gz")))
    read = sitk.GetArrayFromImage(label_map.image)
    assert np.array_equal(read == 1, (source == 2) | (source == 3))
    assert set(np.unique(read)) == {0, 1}
    kidney_ml = (read == 1).sum() * 27 / 1000  # 3 mm voxels
    assert kidney_ml == pytest.approx(106.6 + 99.3, abs=1.0)


@pytest.mark.parametrize(
    "text, message",
    [
        ("kidney=2,kidney=3", "kidney is named twice; give several values with + (kidney=2+3)"),
        ("liver=5", "'liver=5' is not name=value with a name among kidney, tumor, cyst"),
        ("tumor=two", "'two' is not a label value"),
        ("kidney=2,tumor=2", "value 2 is named both kidney and tumor"),
        ("tumor=0", "label value 0 is not positive"),
    ],
)
def test_bad_label_meanings_are_refused_in_one_line(tmp_path, capsys, case_files, text, message):
    _, files = case_files
    code = main(
        [
            "prepare",
            "-A",
            files["arterial"],
            "--segmentation",
            files["segmentation"],
            "--labels",
            text,
            "--out",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_kits23_dataset_json_regions_give_kidney_tumor_cyst(tmp_path):
    from RenalMassAILib.lesion.label_meanings import parse_label_meanings

    dataset = {
        "labels": {"background": 0, "kidney": [1, 2, 3], "masses": [2, 3], "tumor": 2},
        "regions_class_order": [1, 3, 2],
    }  # KiTS23's dataset.json
    (tmp_path / "dataset.json").write_text(json.dumps(dataset))
    meanings = parse_label_meanings(str(tmp_path / "dataset.json"))
    assert meanings.values == {"kidney": (1,), "tumor": (2,), "cyst": (3,)}
    assert meanings.value_of() == {1: 1, 2: 2, 3: 3}


@pytest.mark.parametrize("command", ["prepare", "segment", "analyze"])
def test_center_lps_takes_every_float_notation(command):
    from RenalMassAILib.cli import build_parser

    args = build_parser().parse_args(
        [
            command,
            "-A",
            "a.nii.gz",
            "--center-lps",
            "-1.2e-05",
            "-3",
            ".5",
            "--out",
            "o",
            *(["--seg-model", "m"] if command == "segment" else []),
        ]
    )
    assert args.center_lps == [-1.2e-05, -3.0, 0.5]
    args = build_parser().parse_args(
        [
            command,
            "-A",
            "a.nii.gz",
            "--center-lps",
            "1E2",
            "-.25",
            "-7.",
            "--out",
            "o",
            *(["--seg-model", "m"] if command == "segment" else []),
        ]
    )
    assert args.center_lps == [100.0, -0.25, -7.0]


def test_center_lps_refuses_what_is_not_a_finite_number(capsys):
    from RenalMassAILib.cli import build_parser

    for bad in ("nan", "inf", "1,5"):
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(["prepare", "-A", "a.nii.gz", "--center-lps", "1", bad, "2", "--out", "o"])
        assert exit_info.value.code == 2
        assert f"argument --center-lps: {bad!r} is not a" in capsys.readouterr().err
