import numpy as np
import pytest
import SimpleITK as sitk

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.phantom import SUBTYPES, PhantomSpec, make_phantom, pathology_class

SMALL = dict(size=(96, 96, 40), spacing=(3.0, 3.0, 4.0))


def test_same_seed_same_phantom_other_seed_other_phantom():
    a = make_phantom(PhantomSpec(seed=5, **SMALL))
    b = make_phantom(PhantomSpec(seed=5, **SMALL))
    c = make_phantom(PhantomSpec(seed=6, **SMALL))
    for phase in a.images:
        assert np.array_equal(sitk.GetArrayViewFromImage(a.images[phase]), sitk.GetArrayViewFromImage(b.images[phase]))
    assert not np.array_equal(
        sitk.GetArrayViewFromImage(a.images[Phase.ARTERIAL]), sitk.GetArrayViewFromImage(c.images[Phase.ARTERIAL])
    )


def test_phases_follow_the_enhancement_table(small_phantom):
    labels = sitk.GetArrayViewFromImage(small_phantom.labels)
    kidney_core = labels == 1
    means = {p: sitk.GetArrayViewFromImage(img)[kidney_core].mean() for p, img in small_phantom.images.items()}
    assert means[Phase.NON_CONTRAST] < 60
    assert means[Phase.ARTERIAL] > means[Phase.NON_CONTRAST] + 60
    assert means[Phase.VENOUS] > means[Phase.NON_CONTRAST] + 60
    tumor = {p: sitk.GetArrayViewFromImage(img)[labels == 2].mean() for p, img in small_phantom.images.items()}
    assert tumor[Phase.ARTERIAL] > tumor[Phase.NON_CONTRAST] + 50  # ccRCC enhances avidly
    air = sitk.GetArrayViewFromImage(small_phantom.images[Phase.ARTERIAL])[0, 0, 0]
    assert air < -900


def test_labels_and_truth(small_phantom):
    values = set(np.unique(sitk.GetArrayViewFromImage(small_phantom.labels)).tolist())
    assert {0, 1, 2} <= values
    assert small_phantom.pathology == "indolent"
    assert small_phantom.lesion_side == "left"
    assert small_phantom.lesion_center_lps[0] > 0  # LPS: the patient's left is +x
    volume_ml = (
        (sitk.GetArrayViewFromImage(small_phantom.labels) == 2).sum()
        * np.prod(small_phantom.labels.GetSpacing())
        / 1000
    )
    assert volume_ml == pytest.approx(4 / 3 * np.pi * 20**3 / 1000, rel=0.1)


@pytest.mark.parametrize("subtype", sorted(SUBTYPES))
def test_every_subtype_renders_with_its_label(subtype):
    p = make_phantom(PhantomSpec(subtype=subtype, seed=3, **SMALL))
    expected_label = SUBTYPES[subtype][0]
    assert (sitk.GetArrayViewFromImage(p.labels) == expected_label).sum() > 100


def test_classic_aml_holds_fat_and_cyst_is_water():
    aml = make_phantom(PhantomSpec(subtype="classic-AML", seed=2, **SMALL))
    lesion = sitk.GetArrayViewFromImage(aml.labels) == 2
    assert (sitk.GetArrayViewFromImage(aml.images[Phase.NON_CONTRAST])[lesion] < -30).mean() > 0.2
    cyst = make_phantom(PhantomSpec(subtype="bosniak-1", seed=2, noise_hu=0, **SMALL))
    inside = sitk.GetArrayViewFromImage(cyst.labels) == 3
    assert abs(np.median(sitk.GetArrayViewFromImage(cyst.images[Phase.VENOUS])[inside])) < 30


def test_pathology_rules_follow_the_paper():
    assert pathology_class("ccRCC", 2, False) == "indolent"
    assert pathology_class("ccRCC", 3, False) == "aggressive"
    assert pathology_class("ccRCC", 1, True) == "aggressive"
    assert pathology_class("papillary", 2, True) == "indolent"  # necrosis does not count for papillary
    assert pathology_class("papillary", 4, False) == "aggressive"
    assert pathology_class("chromophobe", 4, True) == "indolent"
    assert pathology_class("oncocytoma", 1, False) == "benign"
    assert pathology_class("bosniak-2", 1, False) == "benign"


def test_misregistration_moves_only_the_other_phases():
    p = make_phantom(PhantomSpec(seed=4, misregistration_mm=4, misregistration_deg=2, **SMALL))
    center = np.asarray(p.lesion_center_lps)
    assert np.allclose(p.phase_transforms[Phase.ARTERIAL].TransformPoint(center.tolist()), center)
    moved = np.linalg.norm(np.asarray(p.phase_transforms[Phase.VENOUS].TransformPoint(center.tolist())) - center)
    assert 0.1 < moved < 4 * np.sqrt(3) + 1


def test_any_size_spacing_and_single_phase():
    p = make_phantom(PhantomSpec(seed=1, size=(50, 70, 9), spacing=(4.0, 3.0, 5.0), phases=("V",)))
    assert list(p.images) == [Phase.VENOUS]
    assert p.images[Phase.VENOUS].GetSize() == (50, 70, 9)
    assert p.images[Phase.VENOUS].GetPixelID() == sitk.sitkInt16


def test_bad_spec_is_refused():
    with pytest.raises(ValueError, match="subtype"):
        PhantomSpec(subtype="sarcoma-xyz")
    with pytest.raises(ValueError, match="grade"):
        PhantomSpec(grade=5)
