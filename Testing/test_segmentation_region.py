"""Where the fast path segments: one patch around the point, shifted into the image, grown at the border."""

import json

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.nnunet_predictor import mirror_axes_within_budget
from RenalMassAILib.lesion.segmentation_region import Region, filled, grown, patch_voxels, region_around, size_in_voxels


def _image(size=(200, 150, 60), spacing=(0.8, 0.8, 2.5), direction=None) -> sitk.Image:
    image = sitk.Image(list(size), sitk.sitkInt16)
    image.SetSpacing(spacing)
    image.SetOrigin((-80.0, -60.0, 10.0))
    if direction is not None:
        image.SetDirection(direction)
    return image


def test_one_patch_resamples_to_no_more_than_the_patch():
    image = _image()
    voxels = patch_voxels(image, (100.0, 100.0, 128.0))  # KiTS 3d_fullres: 128 x 128 x 128 at 0.78 x 0.78 x 1.0 mm
    assert voxels.tolist() == [125, 125, 51]
    # nnU-Net's new shape: round(n * spacing / target spacing) must not exceed the patch (one tile, no second)
    assert np.all(np.round(voxels * np.array(image.GetSpacing()) / np.array([0.78125, 0.78125, 1.0])) <= 128)


def test_a_box_near_the_edge_is_shifted_inside_not_shrunk():
    image = _image()
    corner = image.TransformIndexToPhysicalPoint((3, 140, 58))
    region = region_around(image, corner, (50, 40, 20))
    assert region.size == (50, 40, 20)
    assert region.low == (0, 110, 40) and region.high == (50, 150, 60)
    assert region.array_slices() == (slice(40, 60), slice(110, 150), slice(0, 50))
    center = image.TransformIndexToPhysicalPoint((100, 75, 30))
    assert region_around(image, center, (50, 40, 20)).low == (75, 55, 20)
    assert region_around(image, center, (500, 40, 20)).size == (200, 40, 20)  # larger than the image: clipped


def test_box_size_follows_the_image_axes_of_a_sagittal_acquisition():
    # index axes: i along anterior-posterior (y), j along superior-inferior (z), k along left-right (x)
    sagittal = _image(spacing=(0.8, 0.8, 2.5), direction=(0, 0, 1, 1, 0, 0, 0, 1, 0))
    assert size_in_voxels(sagittal, (100.0, 40.0, 80.0)).tolist() == [50, 100, 40]


def test_the_box_grows_where_the_mass_reaches_its_border_and_only_there():
    region = Region((50, 50, 10), (100, 100, 30))
    labels = np.zeros((20, 50, 50), dtype=np.uint8)  # k, j, i
    labels[5:15, 10:40, 30:50] = 2  # reaches the high-i face
    labels[0:3, 0:2, 0:2] = 1  # a small separate body on three low faces: not the largest, ignored
    image_size, largest = (200, 150, 60), (100, 100, 40)
    bigger = grown(region, labels, (10, 10, 4), image_size, largest)
    assert bigger == Region((50, 50, 10), (110, 100, 30))
    assert grown(region, labels, (10, 10, 4), image_size, (55, 100, 40)) == Region((50, 50, 10), (105, 100, 30))
    assert grown(region, labels, (10, 10, 4), image_size, (50, 100, 40)) is None  # as large as allowed
    labels[:] = 0
    labels[5:15, 10:40, 10:40] = 2
    assert grown(region, labels, (10, 10, 4), image_size, largest) is None  # inside: nothing to grow
    at_edge = Region((150, 50, 10), (200, 100, 30))
    labels[5:15, 10:40, 30:50] = 2
    assert grown(at_edge, labels, (10, 10, 4), image_size, largest) is None  # the image ends there


def test_a_box_is_filled_to_whole_patches_evenly_and_inside_the_image():
    patch = (100, 100, 40)
    box = filled(Region((50, 20, 2), (180, 120, 22)), patch, (400, 300, 60))  # 1.3 x 1 x 0.5 patches
    assert box.size == (200, 100, 40)  # 2 x 1 x 1 patches: the tiles it costs anyway
    assert box.low == (15, 20, 0)  # 35 voxels added on each side along i; along k shifted into the image
    at_edge = filled(Region((0, 0, 0), (130, 100, 40)), patch, (150, 300, 60))
    assert at_edge.size == (150, 100, 40)  # never beyond the image
    assert filled(Region((3, 4, 5), (103, 104, 45)), patch, (400, 300, 60)) == Region((3, 4, 5), (103, 104, 45))


def test_mirroring_fits_the_budget_of_network_passes():
    assert mirror_axes_within_budget((0, 1, 2), tiles=1) == (0, 1, 2)  # 8 passes
    assert mirror_axes_within_budget((0, 1, 2), tiles=2) == (1, 2)  # in-plane axes first: 2 x 4
    assert mirror_axes_within_budget((0, 1, 2), tiles=3) == (2,)
    assert mirror_axes_within_budget((0, 1, 2), tiles=5) == ()
    assert mirror_axes_within_budget((0, 1), tiles=1) == (0, 1)  # only what the model allows
    assert mirror_axes_within_budget(None, tiles=1) == ()


def test_patch_extent_read_from_plans_with_inheritance_and_transpose(tmp_path):
    folder = tmp_path / "Dataset999_X" / "nnUNetTrainer__nnUNetPlans__3d_cascade_fullres"
    (folder / "fold_0").mkdir(parents=True)
    (folder / "fold_0" / "checkpoint_final.pth").write_bytes(b"")
    (folder / "dataset.json").write_text(
        json.dumps({"channel_names": {"0": "CT"}, "labels": {"background": 0, "kidney": 1, "tumor": 2}})
    )
    plans = {
        "transpose_forward": [2, 0, 1],  # nnU-Net's array axes z, y, x -> x, z, y
        "configurations": {
            "3d_fullres": {"patch_size": [64, 96, 128], "spacing": [0.5, 2.0, 1.0]},
            "3d_cascade_fullres": {"inherits_from": "3d_fullres"},
        },
    }
    (folder / "plans.json").write_text(json.dumps(plans))
    model = open_segmentation_model(folder)
    # transposed axis 0 = array x (i), 1 = array z (k), 2 = array y (j)
    assert model.patch_mm == (32.0, 128.0, 192.0)
