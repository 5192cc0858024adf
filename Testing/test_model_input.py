import numpy as np
import pytest
import SimpleITK as sitk

from conftest import ORIENTATIONS, grid_for, phantom
from RenalMassAILib.case.alignment import align_phases
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.model_input import make_model_input
from RenalMassAILib.classify.preprocessing import PRESETS, preset
from RenalMassAILib.phantom import PhantomSpec, make_phantom

SPEC = dict(seed=31, side="left", pole="mid", diameter_mm=36.0)


def _lesion_center():
    return make_phantom(PhantomSpec(size=(8, 8, 8), **SPEC)).lesion_center_lps


def _inputs(orientation: str, name="authors-code", spacing_mm=(1.5, 1.5, 1.5)):
    """Grids centered on the lesion, so that rotated grids still cover the whole patch."""
    direction = ORIENTATIONS[orientation]
    size, spacing = grid_for(direction, extent_mm=(200.0, 200.0, 120.0), spacing_mm=spacing_mm)
    p = phantom(size=size, spacing=spacing, direction=tuple(direction.flatten()), center_lps=_lesion_center(), **SPEC)
    case = p.case()
    return p, make_model_input(case, align_phases(case), p.lesion_center_lps, preset(name))


@pytest.mark.parametrize("orientation", ["RAS", "sagittal", "coronal", "oblique"])
def test_patches_are_the_same_whatever_the_input_orientation(orientation):
    _, reference = _inputs("LPS")
    _, other = _inputs(orientation)
    for phase in (Phase.NON_CONTRAST, Phase.ARTERIAL, Phase.VENOUS):
        a, b = reference.patches[phase], other.patches[phase]
        assert a.shape == b.shape == (224, 224)
        assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.99


def test_patches_hold_hu_window_and_display_orientation():
    p, inputs = _inputs("LPS")
    patch = inputs.patches[Phase.ARTERIAL]
    assert patch.dtype == np.float32 and patch.min() >= 0.0 and patch.max() <= 1.0
    # Columns run patient right -> left: the body midline (x = 0) lies to the image left of a
    # lesion in the left kidney.
    geometry = inputs.geometry
    _row, col = geometry.lps_to_pixel(np.array([0.0, p.lesion_center_lps[1], p.lesion_center_lps[2]]))
    assert col < 0  # the midline (x = 0) is to the image left of a left-kidney lesion
    # anterior is up: a point 20 mm anterior has a smaller row
    row_anterior, _ = geometry.lps_to_pixel(np.asarray(p.lesion_center_lps) - [0, 20, 0])
    assert row_anterior < 111.5


@pytest.mark.parametrize("orientation", ["LPS", "oblique"])
def test_inverse_mapping_lands_within_half_a_pixel(orientation):
    p, inputs = _inputs(orientation)
    geometry = inputs.geometry
    # The lesion's section in the patch (labels sampled the same way) maps back onto its true center.
    labels = sitk.Resample(p.labels, geometry.grid(), sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    rows, cols = np.nonzero(sitk.GetArrayViewFromImage(labels)[0] == 2)
    center = geometry.pixel_to_lps(rows.mean(), cols.mean())
    pixel = geometry.pixel_mm
    assert np.all(np.abs(center[:2] - np.asarray(p.lesion_center_lps)[:2]) <= pixel / 2 + 0.35)
    # Every pixel maps to the physical point whose interpolated HU it holds.
    image = sitk.Cast(p.images[Phase.VENOUS], sitk.sitkFloat32)
    rng = np.random.default_rng(0)
    for row, col in rng.integers(0, 224, size=(20, 2)):
        point = geometry.pixel_to_lps(row, col)
        value = sitk.Resample(image, _single_point_grid(point), sitk.Transform(), sitk.sitkLinear, -1024.0)[0, 0, 0]
        expected = (np.clip(value, -500, 500) + 500) / 1000
        assert inputs.patches[Phase.VENOUS][row, col] == pytest.approx(expected, abs=1e-4)
        assert np.allclose(geometry.lps_to_pixel(point), (row, col))


def _single_point_grid(point):
    grid = sitk.Image([1, 1, 1], sitk.sitkFloat32)
    grid.SetOrigin([float(c) for c in point])
    return grid


def test_presets_differ_as_documented():
    assert PRESETS["authors-code"].field_of_view_mm == 120.0
    assert PRESETS["authors-code"].slice_choice == "center"
    assert PRESETS["paper"].pixel_mm == pytest.approx(0.625)
    assert PRESETS["paper"].slice_choice == "max-area"
    _, authors = _inputs("LPS", "authors-code")
    _, paper = _inputs("LPS", "paper")
    assert authors.geometry.pixel_mm == pytest.approx(120 / 224)
    assert paper.patches[Phase.ARTERIAL].shape == (224, 224)
    # The wider paper field shows the lesion smaller.
    lesion_pixels = lambda inputs: (inputs.patches[Phase.ARTERIAL] > 0.6).sum()  # noqa: E731
    assert lesion_pixels(paper) < lesion_pixels(authors)


def test_to_image_places_a_patch_map_in_physical_space():
    _p, inputs = _inputs("LPS")
    heat = np.zeros((224, 224), dtype=np.float32)
    heat[100, 150] = 1.0
    image = inputs.geometry.to_image(heat)
    index = image.TransformPhysicalPointToIndex(inputs.geometry.pixel_to_lps(100, 150).tolist())
    assert index == (150, 100, 0)
    assert image[index] == 1.0


def _tumor_share(diameter_mm: float, name: str) -> tuple[float, float]:
    """Share of the input's pixels inside the tumor, and the input's pixel size, for a phantom mass."""
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.prepare import prepare_case

    p = phantom(size=(128, 128, 48), spacing=(2.5, 2.5, 3.0), seed=41, side="left", pole="mid", diameter_mm=diameter_mm)
    label_map = to_label_map(p.labels, p.images[Phase.ARTERIAL])
    prepared = prepare_case(p.case(), preset(name), label_map)
    geometry = prepared.model_input.geometry
    on_patch = sitk.Resample(label_map.image, geometry.grid(), sitk.Transform(), sitk.sitkNearestNeighbor, 0)
    tumor = sitk.GetArrayFromImage(on_patch)[0] == label_map.value("tumor")
    return float(tumor.mean()), geometry.pixel_mm


def test_lesion_field_makes_small_and_large_masses_fill_a_like_share_of_the_input():
    small, small_pixel = _tumor_share(24.0, "lesion-field")
    large, large_pixel = _tumor_share(70.0, "lesion-field")
    assert 0.15 < small < 0.5 and 0.15 < large < 0.5 and abs(small - large) < 0.12
    assert large_pixel > 2 * small_pixel  # the field follows the segmented diameter
    fixed_small, _ = _tumor_share(24.0, "authors-code")
    fixed_large, _ = _tumor_share(70.0, "authors-code")
    assert fixed_large > 5 * fixed_small  # a fixed 120 mm field: the share grows with the mass


def test_lesion_field_without_a_segmented_lesion_is_refused():
    from RenalMassAILib.errors import InputError
    from RenalMassAILib.prepare import prepare_case

    p = phantom(size=(128, 128, 48), spacing=(2.5, 2.5, 3.0), seed=41, side="left", pole="mid", diameter_mm=24.0)
    with pytest.raises(InputError, match="sizes its field of view to the lesion.*give a segmentation"):
        prepare_case(p.case(), preset("lesion-field"), None, p.lesion_center_lps)
    field = PRESETS["lesion-field"]
    assert field.pixel_mm_for(10.0) == pytest.approx(30.0 / 224)  # never below 30 mm
    assert field.pixel_mm_for(200.0) == pytest.approx(120.0 / 224)  # never above 120 mm


def test_lesion_field_of_a_cyst_follows_the_cyst_at_the_center():
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.prepare import prepare_case

    p = phantom(size=(128, 128, 48), spacing=(2.5, 2.5, 3.0), seed=43, subtype="bosniak-2", diameter_mm=40.0)
    label_map = to_label_map(p.labels, p.images[Phase.ARTERIAL])
    prepared = prepare_case(p.case(), preset("lesion-field"), label_map, p.lesion_center_lps)
    assert prepared.lesion is None  # KiTS labels a Bosniak 2 cyst 'cyst', not 'tumor'
    assert prepared.mass_diameter_mm == pytest.approx(40.0, abs=6.0)
    assert prepared.model_input.geometry.pixel_mm == pytest.approx(1.5 * prepared.mass_diameter_mm / 224)
