import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ORIENTATIONS, grid_for, phantom
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.lesion.lesion import body_midline_x, find_lesions, lesion_at


def _lesions(p):
    label_map = to_label_map(p.labels, p.images[next(iter(p.images))])
    return find_lesions(label_map, body_midline_x(p.case().reference)), label_map


@pytest.mark.parametrize("orientation", sorted(ORIENTATIONS))
def test_center_within_one_voxel_in_any_orientation(orientation):
    size, spacing = grid_for(ORIENTATIONS[orientation], spacing_mm=(1.6, 1.6, 2.5))
    p = phantom(
        seed=21,
        size=size,
        spacing=spacing,
        direction=tuple(ORIENTATIONS[orientation].flatten()),
        side="right",
        pole="lower",
        diameter_mm=35.0,
    )
    lesions, _ = _lesions(p)
    assert len(lesions) == 1
    error = np.abs(np.asarray(lesions[0].centroid_lps) - p.lesion_center_lps)
    assert np.all(error <= np.array([1.6, 1.6, 2.5])), error
    assert lesions[0].side == "right"


@pytest.mark.parametrize("spacing", [(0.8, 0.8, 0.5), (1.5, 1.5, 2.5), (2.5, 2.5, 5.0)])
def test_center_volume_and_diameter_at_several_spacings(spacing):
    extent = (260.0, 200.0, 80.0)  # the grid is centered on the body, the lesion lies near x = +-95 mm
    size = tuple(int(e / s) for e, s in zip(extent, spacing))
    p = phantom(seed=8, size=size, spacing=spacing, side="left", diameter_mm=40.0)
    lesion = _lesions(p)[0][0]
    assert np.all(np.abs(np.asarray(lesion.centroid_lps) - p.lesion_center_lps) <= np.asarray(spacing))
    assert lesion.volume_ml == pytest.approx(4 / 3 * np.pi * 20**3 / 1000, rel=0.12)
    assert lesion.max_diameter_mm == pytest.approx(40.0, abs=2 * max(spacing))
    assert lesion.max_area_z_lps == pytest.approx(p.lesion_center_lps[2], abs=spacing[2] + 1.0)
    assert lesion.max_area_mm2 == pytest.approx(np.pi * 20**2, rel=0.1)
    assert lesion.side == "left"


def test_components_are_26_connected_largest_first_and_a_point_selects_one():
    p = phantom(seed=11, size=(128, 128, 48), spacing=(2.2, 2.2, 3.0), side="left", pole="mid")
    labels = sitk.Image(p.labels)
    # Two extra tumor components: a 2-voxel one touching only diagonally (one component under
    # 26-connectivity) and a larger cube elsewhere.
    labels[10, 10, 10] = 2
    labels[11, 11, 11] = 2
    for i in range(20, 24):
        for j in range(20, 24):
            for k in range(20, 24):
                labels[i, j, k] = 2
    label_map = to_label_map(labels, p.images[next(iter(p.images))])
    lesions = find_lesions(label_map, 0.0)
    assert len(lesions) == 3
    assert [lesion.voxels for lesion in lesions] == sorted([lesion.voxels for lesion in lesions], reverse=True)
    assert lesions[2].voxels == 2
    cube_center = labels.TransformContinuousIndexToPhysicalPoint([21.5, 21.5, 21.5])
    assert lesion_at(lesions, cube_center, label_map) is lesions[1]
    assert lesion_at(lesions, p.lesion_center_lps, label_map) is lesions[0]


def test_no_tumor_gives_no_lesion():
    p = phantom(seed=2, subtype="bosniak-1", size=(96, 96, 40), spacing=(3.0, 3.0, 4.0))
    assert _lesions(p)[0] == []
