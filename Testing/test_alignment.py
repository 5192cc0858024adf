import numpy as np
import pytest
import SimpleITK as sitk

from conftest import phantom
from RenalMassAILib.case.alignment import VOI_MM, align_phases, resample_onto_reference
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.registration import register_rigid

MOVED = dict(
    seed=13,
    size=(128, 128, 56),
    spacing=(2.0, 2.0, 2.5),
    side="left",
    pole="mid",
    misregistration_mm=4.0,
    misregistration_deg=2.0,
)


def _error_at_lesion(p, phase, transform):
    center = list(p.lesion_center_lps)
    truth = np.asarray(p.phase_transforms[phase].TransformPoint(center))
    return float(np.linalg.norm(np.asarray(transform.TransformPoint(center)) - truth)), float(
        np.linalg.norm(truth - center)
    )


@pytest.mark.parametrize("phase", [Phase.NON_CONTRAST, Phase.VENOUS])
def test_rigid_registration_recovers_the_misregistration(phase):
    p = phantom(**MOVED)
    fit = register_rigid(p.images[Phase.ARTERIAL], p.images[phase], center_lps=p.lesion_center_lps, region_mm=VOI_MM)
    error, before = _error_at_lesion(p, phase, fit.transform)
    assert before > 1.0  # there was something to correct
    assert error < 1.0
    assert fit.correlation_after > fit.correlation_before


def test_world_alignment_keeps_the_authors_same_point_behaviour():
    p = phantom(**MOVED)
    alignments = align_phases(p.case(), "world", p.lesion_center_lps)
    for alignment in alignments.values():
        assert alignment.quality == {"method": "world"}
        assert np.allclose(alignment.transform.TransformPoint((1.0, 2.0, 3.0)), (1.0, 2.0, 3.0))


def test_rigid_alignment_reports_quality_and_resamples_onto_the_reference_grid():
    p = phantom(**MOVED)
    case = p.case()
    alignments = align_phases(case, "rigid", p.lesion_center_lps)
    assert alignments[Phase.ARTERIAL].quality["method"] == "world"  # the reference itself
    venous = alignments[Phase.VENOUS].quality
    assert venous["method"] == "rigid" and venous["correlation_after"] > venous["correlation_before"]
    aligned = resample_onto_reference(case, alignments)
    labels = sitk.GetArrayViewFromImage(p.labels)
    for _phase, image in aligned.items():
        assert image.GetSize() == case.reference.GetSize()
        assert np.allclose(image.GetOrigin(), case.reference.GetOrigin())
    # Registered, the venous kidney falls where the reference's label map says kidney: it is
    # brighter there than without registration (where part of it shows surrounding fat).
    unregistered = resample_onto_reference(case, align_phases(case, "world"))
    kidney = labels == 1
    registered_hu = sitk.GetArrayViewFromImage(aligned[Phase.VENOUS])[kidney].mean()
    assert registered_hu > sitk.GetArrayViewFromImage(unregistered[Phase.VENOUS])[kidney].mean() + 5


def test_unknown_alignment_method():
    with pytest.raises(ValueError, match="alignment method"):
        align_phases(phantom(**MOVED).case(), "affine")


def test_quality_gate_keeps_the_identity_when_registration_lowers_the_correlation(monkeypatch):
    from RenalMassAILib.case import alignment
    from RenalMassAILib.case.registration import RegistrationResult

    shifted = sitk.Euler3DTransform()
    shifted.SetTranslation((15.0, 0.0, 0.0))

    def worse(*args, **kwargs):  # a fit that made the alignment worse: the gate must refuse it
        return RegistrationResult(shifted, 0.80, 0.55, (15.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.1)

    monkeypatch.setattr(alignment, "register_rigid", worse)
    p = phantom(**MOVED)
    venous = align_phases(p.case(), "rigid", p.lesion_center_lps)[Phase.VENOUS]
    assert venous.quality["kept"] == "identity"
    assert (venous.quality["correlation_before"], venous.quality["correlation_after"]) == (0.8, 0.55)
    assert np.allclose(venous.transform.TransformPoint((1.0, 2.0, 3.0)), (1.0, 2.0, 3.0))


def test_kept_registration_is_recorded_as_kept():
    p = phantom(**MOVED)
    venous = align_phases(p.case(), "rigid", p.lesion_center_lps)[Phase.VENOUS]
    assert venous.quality["kept"] == "registration"
    assert venous.quality["correlation_after"] > venous.quality["correlation_before"]
    assert not np.allclose(venous.transform.TransformPoint(p.lesion_center_lps), p.lesion_center_lps, atol=0.5)


def test_a_failed_registration_keeps_the_same_world_point_and_says_why():
    p = phantom(**MOVED)
    outside = (5000.0, 5000.0, 5000.0)  # the region to register lies outside every phase
    venous = align_phases(p.case(), "rigid", outside)[Phase.VENOUS].quality
    assert venous["kept"] == "identity" and venous["correlation_after"] is None
    assert venous["error"].startswith("rigid registration of the venous phase failed")
    assert "outside the image" in venous["error"] and "\n" not in venous["error"]


def test_a_centre_moved_within_the_mass_keeps_the_alignment_and_the_inputs():
    """The live refresh keeps the alignment made when the case was prepared (at the segmentation's
    centre); an export (`analyze --center-lps` at the reader's point) prepares again. Both must register
    about the lesion, else the exported probability differs from the one on the screen."""
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.prepare import prepare_case

    p = phantom(**MOVED)
    case = p.case()
    labels = to_label_map(p.labels, case.reference)
    lesion_field = preset("lesion-field")
    at_segmentation = prepare_case(case, lesion_field, labels, None, "rigid")
    moved = np.add(at_segmentation.center_lps, (3.0, -2.0, 0.0))
    at_point = prepare_case(case, lesion_field, labels, moved, "rigid")
    # a registration repeated on the same region varies a little (ITK's multithreaded metric): far less
    # than registering about the moved point did (0.12 mm here)
    for phase in (Phase.NON_CONTRAST, Phase.VENOUS):
        again, first = (a.alignments[phase].transform.GetParameters() for a in (at_point, at_segmentation))
        assert again[:3] == pytest.approx(first[:3], abs=1e-4)  # radians
        assert again[3:] == pytest.approx(first[3:], abs=0.01)  # mm
    live, exported = Analyzer(at_segmentation).run(moved), Analyzer(at_point).run(moved)
    for task, prediction in live.predictions.items():
        assert exported.predictions[task].probability == pytest.approx(prediction.probability, abs=1e-3)
