"""Automated R.E.N.A.L. nephrometry on phantoms whose geometry fixes the answer."""

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ORIENTATIONS, phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.lesion.lesion import body_midline_x, find_lesions
from RenalMassAILib.lesion.nephrometry import Nephrometry, nephrometry

GRID = dict(size=(160, 160, 80), spacing=(2.0, 2.0, 2.5), side="left", subtype="ccRCC")


def score(seed=1, direction=None, **spec):
    extra = {"direction": tuple(direction.ravel())} if direction is not None else {}
    p = phantom(seed=seed, **GRID, **spec, **extra)
    venous = p.images[Phase.VENOUS]
    label_map = to_label_map(p.labels, venous)
    lesion = find_lesions(label_map, body_midline_x(venous))[0]
    return nephrometry(label_map, venous, lesion)


@pytest.mark.parametrize("diameter, points", [(30.0, 1), (50.0, 2), (75.0, 3)])
def test_r_follows_the_largest_diameter(diameter, points):
    result = score(diameter_mm=diameter, exophytic=0.5, pole="lower")
    assert result.radius_mm == pytest.approx(diameter, abs=2.0)
    assert result.r_points == points


def test_small_endophytic_mass_scores_e3_and_an_exophytic_one_e1():
    inside = score(diameter_mm=20.0, exophytic=0.0, pole="mid")
    outside = score(diameter_mm=20.0, exophytic=1.0, pole="upper")
    assert inside.exophytic_share <= 0.02 and inside.e_points == 3
    assert outside.exophytic_share >= 0.9 and outside.e_points == 1
    partly = score(diameter_mm=50.0, exophytic=0.0, pole="mid")  # too big to stay inside the kidney
    assert 0.02 < partly.exophytic_share < 0.5 and partly.e_points == 2


def test_n_is_near_for_a_deep_mass_and_far_for_an_exophytic_polar_one():
    deep = score(diameter_mm=50.0, exophytic=0.0, pole="mid")
    far = score(diameter_mm=20.0, exophytic=1.0, pole="upper")
    assert deep.nearness_mm <= 4 and deep.n_points == 3
    assert far.nearness_mm >= 7 and far.n_points == 1


def test_l_is_three_across_the_midline_and_lower_at_a_pole():
    middle = score(diameter_mm=40.0, exophytic=0.3, pole="mid")
    polar = score(diameter_mm=20.0, exophytic=1.0, pole="upper")
    assert middle.crosses_midline and middle.l_points == 3
    assert not polar.crosses_midline and polar.between_polar_lines < 0.5 and polar.l_points <= 2


def test_the_score_does_not_depend_on_the_acquisition_orientation():
    spec = dict(diameter_mm=40.0, exophytic=0.3, pole="mid", seed=2)
    axial = score(**spec).summary()
    sagittal = score(direction=ORIENTATIONS["sagittal"], **spec).summary()
    for key in ("R_points", "E_points", "N_points", "L_points", "A"):
        assert sagittal[key] == axial[key], key
    assert sagittal["E_exophytic_share"] == pytest.approx(axial["E_exophytic_share"], abs=0.08)


def _hand_made(tumor_offset_y_mm: float):
    """A box-shaped case: ellipsoidal kidney with central sinus fat, a 16 mm tumor at its surface."""
    size, spacing = (120, 120, 120), 1.0
    z, y, x = np.mgrid[0 : size[2], 0 : size[1], 0 : size[0]].astype(float)
    c = np.array([60.0, 60.0, 60.0])
    kidney = ((x - c[0]) / 25) ** 2 + ((y - c[1]) / 25) ** 2 + ((z - c[2]) / 50) ** 2 <= 1
    sinus = ((x - c[0]) / 8) ** 2 + ((y - c[1]) / 8) ** 2 + ((z - c[2]) / 25) ** 2 <= 1
    tumor = (x - c[0]) ** 2 + (y - c[1] - tumor_offset_y_mm) ** 2 + (z - c[2]) ** 2 <= 8**2
    hu = np.where(kidney, 150.0, -100.0)
    hu[sinus] = -100.0
    hu[tumor] = 60.0
    labels = np.where(kidney, 1, 0).astype(np.uint8)
    labels[tumor] = 2
    images = [sitk.GetImageFromArray(a) for a in (hu.astype(np.float32), labels)]
    for image in images:
        image.SetSpacing([spacing] * 3)
    return images


@pytest.mark.parametrize("offset, descriptor", [(-21.0, "a"), (21.0, "p")])
def test_a_says_anterior_or_posterior_from_the_centroids(offset, descriptor):
    ct, labels = _hand_made(offset)  # LPS: -y is anterior
    label_map = to_label_map(labels, ct)
    lesion = find_lesions(label_map, 0.0)[0]
    result = nephrometry(label_map, ct, lesion)
    assert result.a_descriptor == descriptor
    assert result.e_points == 2  # center 4 mm inside a 25 mm surface: less than half outside
    # sinus wall 8 mm from the center (the blur takes off up to 1 mm), tumor edge at 21 - 8 = 13 mm
    assert 5.0 <= result.nearness_mm <= 6.5 and result.n_points == 2
    assert result.crosses_midline and result.l_points == 3


def test_points_and_complexity_follow_the_published_table():
    low = Nephrometry(30.0, 0.7, 10.0, 0.0, 0.0, False)
    high = Nephrometry(80.0, 0.0, 2.0, 12.0, 0.9, True)
    assert (low.r_points, low.e_points, low.n_points, low.l_points, low.total, low.complexity) == (1, 1, 1, 1, 4, "low")
    assert (high.r_points, high.e_points, high.n_points, high.l_points, high.total) == (3, 3, 3, 3, 12)
    assert high.summary()["score"] == "12a" and high.complexity == "high"
    edges = Nephrometry(40.0, 0.5, 7.0, -6.0, 0.5, False)  # boundaries: <=4 cm, >=50 %, >=7 mm, <=50 % between
    assert (edges.r_points, edges.e_points, edges.n_points, edges.l_points, edges.a_descriptor) == (1, 1, 1, 2, "p")
    assert Nephrometry(70.0, 0.3, 4.0, 0.0, 0.2, False).summary()["total"] == 3 + 2 + 3 + 2
