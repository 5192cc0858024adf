"""Study folders as on a CD: series found in subfolders, DICOMDIR ignored, localizers, secondary captures
and DERIVED images skipped by their tags with the reason recorded in prepare.json.

Real files (copied with their licences into Testing/data):
- philips-tilted-series/S21610: neurolabusc/dcm_qa_ct (BSD-2): DIRFILE (a DICOMDIR), localizer S1000,
  three slices of the tilted series S2010, the "Exam Summary" secondary capture S4010.
- edge-cases/GH342.dcm: fo-dicom test data (MS-PL), a Philips "Surview" localizer.
- enhanced-ct/eCT_Supplemental.dcm: pydicom-data (MIT), an Enhanced CT multi-frame derived perfusion map.
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import CENTER_AT_ORIGIN, phantom
from RenalMassAILib.case.loading import load_case, load_case_auto
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.reading import find_sources, read_volume
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError
from RenalMassAILib.phantom.dicom_export import write_dicom_series
from synthetic_dicom import write_ct_slice

DATA = Path(__file__).parent / "data"
PHILIPS = DATA / "philips-tilted-series" / "S21610"
SMALL = dict(seed=9, size=(64, 64, 24), spacing=(4.0, 4.0, 5.0), side="left")


def test_real_cd_layout_skips_localizer_and_secondary_capture():
    found = find_sources(PHILIPS, "study")
    assert [Path(s.path).name for s in found.sources] == ["S2010"]
    skipped = "\n".join(found.skipped)
    assert len(found.skipped) == 2
    assert "S1000" in skipped and "localizer (ImageType 'ORIGINAL\\PRIMARY\\LOCALIZER'" in skipped
    assert "S4010" in skipped and "'Exam Summary'" in skipped and "secondary capture" in skipped


def test_explicit_phase_folder_records_skipped_series_and_tilt():
    case = load_case({Phase.ARTERIAL: str(PHILIPS)})
    notes = case.notes[Phase.ARTERIAL]
    assert sum("skipped" in n for n in notes) == 2
    assert any("gantry tilt 18.5 degrees" in n for n in notes)


@pytest.fixture(scope="module")
def cd_study(tmp_path_factory):
    """N / A / V of a phantom as series in subfolders, described as scanners do, with the clutter of a CD."""
    p = phantom(**SMALL)
    study = tmp_path_factory.mktemp("cd") / "PATIENT" / "STUDY"
    write_dicom_series(p.images[Phase.NON_CONTRAST], study / "SE1", "CT A/P 5mm", "", "101000", 1)
    write_dicom_series(p.images[Phase.VENOUS], study / "SE3", "CT A/P C+ 5mm", "Iohexol", "10:12:30.25", 3)
    write_dicom_series(p.images[Phase.ARTERIAL], study / "SE2", "CT A/P C+ 5mm", "Iohexol", "10:11:05", 2)
    shutil.copy(PHILIPS / "DIRFILE", study.parent / "DICOMDIR")  # a real DICOMDIR: a directory, not an image
    flat = np.full((32, 32), -1000.0)
    write_ct_slice(
        study / "SE0" / "IM1",
        flat,
        (0, 0, 0),
        (0, 1, 0, 0, 0, -1),
        series_uid="2.25.100",
        SeriesDescription="Topogram 0.6",
        ImageType=["ORIGINAL", "PRIMARY", "LOCALIZER"],
    )
    write_ct_slice(
        study / "SE9" / "IM1",
        flat,
        (0, 0, 0),
        series_uid="2.25.109",
        SeriesDescription="Dose Report",
        SOPClassUID="1.2.840.10008.5.1.4.1.1.7",
    )
    for k in range(3):
        write_ct_slice(
            study / "SE5" / f"IM{k}",
            flat,
            (0, 0, 5.0 * k),
            series_uid="2.25.105",
            instance=k + 1,
            SeriesDescription="MIP 10mm",
            ImageType=["DERIVED", "SECONDARY", "MIP"],
        )
    return p, study.parent


def test_auto_on_a_cd_study_folder(cd_study):
    p, root = cd_study
    case, assignment = load_case_auto([str(root)])
    assert case.phases == (Phase.NON_CONTRAST, Phase.ARTERIAL, Phase.VENOUS)
    for phase in case.phases:
        assert np.array_equal(
            sitk.GetArrayViewFromImage(case.images[phase]), sitk.GetArrayViewFromImage(p.images[phase])
        )
    assert "10:11:05" in assignment.reasons[Phase.ARTERIAL] and "C+" in assignment.reasons[Phase.ARTERIAL]
    assert "Contrast/Bolus Agent is empty" in assignment.reasons[Phase.NON_CONTRAST]
    skipped = "\n".join(case.skipped_series)
    assert len(case.skipped_series) == 3
    assert "'Topogram 0.6'" in skipped and "localizer" in skipped
    assert "'Dose Report'" in skipped and "secondary capture" in skipped
    assert "'MIP 10mm'" in skipped and "DERIVED image" in skipped


def test_prepare_json_records_what_was_skipped(cd_study, tmp_path):
    p, root = cd_study
    out = tmp_path / "out"
    assert (
        main(["prepare", "--auto", str(root), "--center-lps", *map(str, p.lesion_center_lps), "--out", str(out)]) == 0
    )
    summary = json.loads((out / "prepare.json").read_text())
    assert len(summary["skipped_series"]) == 3 and any("Topogram" in s for s in summary["skipped_series"])
    assert summary["input_notes"] == {"N": [], "A": [], "V": []}
    assert summary["phase_detection"]["V"].startswith("contrast-enhanced (name 'CT A/P C+ 5mm'")


def test_folder_of_only_non_volumes_is_refused_naming_each():
    with pytest.raises(
        InputError,
        match=r"no CT volume among its DICOM series \('series 3': DERIVED image "
        r"\(ImageType 'DERIVED\\PRIMARY\\PERFUSION\\RCBF'",
    ):
        find_sources(DATA / "enhanced-ct", "arterial image")


def test_enhanced_ct_perfusion_map_file_is_refused_by_name(capsys, tmp_path):
    code = main(
        [
            "prepare",
            "-A",
            str(DATA / "enhanced-ct" / "eCT_Supplemental.dcm"),
            *CENTER_AT_ORIGIN,
            "--out",
            str(tmp_path / "o"),
        ]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "DERIVED image" in err and "PERFUSION" in err and "eCT_Supplemental.dcm" in err


def test_surview_localizer_refused_by_name_on_the_command_line(tmp_path):
    """The real CLI in a subprocess: exit status 2, one stderr line, no traceback."""
    command = [
        sys.executable,
        "-m",
        "RenalMassAILib",
        "prepare",
        "-V",
        str(DATA / "edge-cases" / "GH342.dcm"),
        *CENTER_AT_ORIGIN,
        "--out",
        str(tmp_path / "o"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("renalmassai: error: venous image")
    assert "localizer" in result.stderr and "'Surview'" in result.stderr and "GH342.dcm" in result.stderr


def test_files_without_preamble_are_read_and_other_files_passed_over(tmp_path):
    """Older exports lack the 128-byte preamble and 'DICM'; a folder may also hold notes and thumbnails."""
    field = np.add.outer(np.arange(20.0), np.arange(24.0)) - 500
    for k in range(3):
        path = write_ct_slice(tmp_path / "old" / f"IM{k}", field + 10 * k, (0, 0, 2.5 * k), instance=k + 1)
        path.write_bytes(path.read_bytes()[132:])
    (tmp_path / "old" / "README.TXT").write_text("burned by PACS")
    (tmp_path / "old" / "thumb.bin").write_bytes(bytes(range(256)) * 20)
    found = find_sources(tmp_path / "old", "venous image")
    assert len(found.sources) == 1 and len(found.sources[0].dicom_files) == 3 and found.skipped == ()
    voxels = sitk.GetArrayFromImage(read_volume(found.sources[0], "venous image").image)
    assert np.array_equal(voxels, np.stack([field + 10 * k for k in range(3)]))


def test_prepare_json_records_the_tilt_correction_of_a_real_series(tmp_path):
    case = load_case({Phase.ARTERIAL: str(PHILIPS)})
    reference = case.images[Phase.ARTERIAL]
    center = reference.TransformContinuousIndexToPhysicalPoint([s / 2 for s in reference.GetSize()])
    out = tmp_path / "out"
    assert main(["prepare", "-A", str(PHILIPS), "--center-lps", *map(str, center), "--out", str(out)]) == 0
    notes = json.loads((out / "prepare.json").read_text())["input_notes"]["A"]
    assert any(n.startswith("gantry tilt 18.5 degrees") for n in notes)
    assert any("S1000" in n and "localizer" in n for n in notes) and any("S4010" in n for n in notes)
