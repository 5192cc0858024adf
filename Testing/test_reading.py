import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ORIENTATIONS, phantom
from RenalMassAILib.case.loading import load_case, load_case_auto
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.phase_detection import detect_phases
from RenalMassAILib.case.reading import ImageSource, list_sources, read_image
from RenalMassAILib.errors import InputError
from RenalMassAILib.phantom.dicom_export import write_dicom_series

SMALL = dict(seed=9, size=(64, 64, 24), spacing=(4.0, 4.0, 5.0), side="left")


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd", ".mha"])
def test_files_read_with_geometry_and_hu(tmp_path, suffix):
    p = phantom(**SMALL)
    original = p.images[Phase.VENOUS]
    path = tmp_path / f"venous{suffix}"
    sitk.WriteImage(original, str(path))
    image, source = read_image(path)
    assert source.description == "venous"
    assert np.array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(original))
    assert np.allclose(image.GetOrigin(), original.GetOrigin(), atol=1e-3)
    assert np.allclose(image.GetDirection(), original.GetDirection(), atol=1e-5)


@pytest.mark.parametrize("orientation", ["LPS", "oblique"])
def test_dicom_series_reads_as_the_same_volume(tmp_path, orientation):
    p = phantom(direction=tuple(ORIENTATIONS[orientation].flatten()), **SMALL)
    original = p.images[Phase.ARTERIAL]
    write_dicom_series(original, tmp_path / "art", "Arterial 1.0 B30f", "Omnipaque", "101500.000", 3)
    image, source = read_image(tmp_path / "art")
    assert source.is_dicom and source.description == "Arterial 1.0 B30f"
    assert source.contrast_agent == "Omnipaque"
    assert np.array_equal(sitk.GetArrayViewFromImage(image), sitk.GetArrayViewFromImage(original))
    assert np.allclose(image.GetOrigin(), original.GetOrigin(), atol=1e-3)
    assert np.allclose(image.GetSpacing(), original.GetSpacing(), atol=1e-3)
    assert np.allclose(image.GetDirection(), original.GetDirection(), atol=1e-4)


def test_study_folder_phases_detected_from_tags_and_time(tmp_path):
    p = phantom(**SMALL)
    study = tmp_path / "study"
    # Uninformative descriptions: the contrast agent tag and the acquisition times decide.
    write_dicom_series(p.images[Phase.NON_CONTRAST], study / "s1", "Abdomen 1.0", "", "100000.000", 1)
    write_dicom_series(p.images[Phase.VENOUS], study / "s3", "Abdomen 1.0", "Iohexol", "100130.000", 3)
    write_dicom_series(p.images[Phase.ARTERIAL], study / "s2", "Abdomen 1.0", "Iohexol", "100035.000", 2)
    case, assignment = load_case_auto([study / "s1", study / "s2", study / "s3"])
    assert case.phases == (Phase.NON_CONTRAST, Phase.ARTERIAL, Phase.VENOUS)
    for phase in case.phases:
        assert np.array_equal(
            sitk.GetArrayViewFromImage(case.images[phase]), sitk.GetArrayViewFromImage(p.images[phase])
        )
    assert "acquisition order" in assignment.reasons[Phase.ARTERIAL]
    assert "Contrast/Bolus Agent" in assignment.reasons[Phase.NON_CONTRAST]


def test_one_folder_holding_several_series(tmp_path):
    p = phantom(**SMALL)
    write_dicom_series(p.images[Phase.ARTERIAL], tmp_path / "mixed", "CM phase", "Iohexol", "100035", 2)
    write_dicom_series(p.images[Phase.VENOUS], tmp_path / "mixed", "Nephrographic", "Iohexol", "100130", 3)
    sources = list_sources(tmp_path / "mixed")
    assert len(sources) == 2
    with pytest.raises(InputError, match="holds 2 DICOM series"):
        read_image(tmp_path / "mixed", "arterial image")
    case, assignment = load_case_auto([tmp_path / "mixed"])
    assert case.phases == (Phase.ARTERIAL, Phase.VENOUS)
    assert assignment.reasons[Phase.VENOUS].startswith("name")


@pytest.mark.parametrize(
    "name, phase",
    [
        ("case_00012_N", Phase.NON_CONTRAST),
        ("Non-contrast 5mm", Phase.NON_CONTRAST),
        ("plain", Phase.NON_CONTRAST),
        ("ART_1.25", Phase.ARTERIAL),
        ("Corticomedullary", Phase.ARTERIAL),
        ("arterial", Phase.ARTERIAL),
        ("PV 2mm", Phase.VENOUS),
        ("Portal venous", Phase.VENOUS),
        ("nephrographic", Phase.VENOUS),
    ],
)
def test_phase_words(name, phase):
    assignment = detect_phases([ImageSource(path=f"/x/{name}.nii.gz", description=name)])
    assert list(assignment.sources) == [phase]


def test_delayed_phase_is_ignored_and_conflicts_are_errors():
    delayed = ImageSource(path="/x/d.nii.gz", description="Delayed 10 min")
    venous = ImageSource(path="/x/v.nii.gz", description="venous")
    assignment = detect_phases([delayed, venous])
    assert list(assignment.sources) == [Phase.VENOUS] and assignment.ignored[0][0] is delayed
    with pytest.raises(InputError, match="both .* look like the venous phase"):
        detect_phases([venous, ImageSource(path="/x/pv.nii.gz", description="PV")])
    with pytest.raises(InputError, match="no phase could be recognised"):
        detect_phases([ImageSource(path="/x/0001_0000.nii.gz", description="0001_0000")])


def test_one_or_two_phases_make_a_case(tmp_path):
    p = phantom(**SMALL)
    paths = p.write(tmp_path)
    venous_only = load_case({Phase.VENOUS: paths["venous"]})
    assert venous_only.phases == (Phase.VENOUS,) and venous_only.reference_phase == Phase.VENOUS
    two = load_case({Phase.NON_CONTRAST: paths["non-contrast"], Phase.VENOUS: paths["venous"]})
    assert two.reference_phase == Phase.VENOUS
