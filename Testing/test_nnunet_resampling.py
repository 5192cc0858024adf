"""The fast resampling gives exactly nnU-Net's result: images, masks and logits, every axis, up and down."""

from functools import partial

import numpy as np
import pytest
import torch

from RenalMassAILib.lesion.nnunet_resampling import fast_resampling, resample_to_shape, use_fast_resampling

# (shape, new shape, spacing, new spacing): the thick axis first, second or last; the in-plane shape
# kept (a scan already at the model's in-plane spacing) or changed; the thick axis up- or downsampled
CASES = [
    ((1, 40, 64, 64), (100, 64, 64), (2.5, 0.78, 0.78), (1.0, 0.78, 0.78)),
    ((1, 40, 60, 70), (100, 77, 52), (2.5, 0.7, 0.9), (1.0, 0.78, 0.78)),
    ((4, 100, 64, 64), (40, 64, 64), (1.0, 0.78, 0.78), (2.5, 0.78, 0.78)),
    ((2, 50, 12, 50), (50, 31, 50), (0.8, 3.0, 0.8), (0.8, 1.2, 0.8)),
    ((1, 90, 80, 30), (90, 80, 70), (0.8, 0.8, 3.2), (0.8, 0.8, 1.4)),
]


@pytest.mark.parametrize("shape, new_shape, spacing, new_spacing", CASES)
def test_images_and_logits_are_resampled_exactly_as_nnunet_does(shape, new_shape, spacing, new_spacing):
    from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape

    data = np.random.default_rng(sum(shape)).normal(size=shape).astype(np.float32)
    for order in (3, 1):  # nnU-Net's orders for images and for logits
        theirs = resample_data_or_seg_to_shape(data, new_shape, spacing, new_spacing, False, order, 0, None)
        ours = resample_to_shape(torch.from_numpy(data.copy()), new_shape, spacing, new_spacing, False, order, 0, None)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


@pytest.mark.parametrize("shape, new_shape, spacing, new_spacing", CASES)
def test_masks_are_resampled_exactly_as_nnunet_does(shape, new_shape, spacing, new_spacing):
    from nnunetv2.preprocessing.resampling.default_resampling import resample_data_or_seg_to_shape

    mask = np.random.default_rng(len(shape)).integers(-1, 3, size=shape).astype(np.int8)
    for order in (0, 1):
        theirs = resample_data_or_seg_to_shape(mask, new_shape, spacing, new_spacing, True, order, 0, None)
        ours = resample_to_shape(mask, new_shape, spacing, new_spacing, True, order, 0, None)
        assert ours.dtype == theirs.dtype and np.array_equal(ours, theirs)


def test_a_resampling_function_other_than_nnunets_default_is_left_alone():
    def own(data, new_shape, current_spacing, new_spacing):
        return data

    assert fast_resampling(partial(own)).func is own
    assert fast_resampling(own) is own


def test_the_predictor_with_the_fast_resampling_gives_nnunets_probabilities(tmp_path):
    """End to end on the demo model: a 6.5 mm volume (thick slices, the fast case) gives the same labels
    and the same probabilities with nnU-Net's resampling and with ours."""
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    from RenalMassAILib.lesion.nnunet_checkpoint import initialize_predictor
    from RenalMassAILib.resources import demo_segmentation_model

    def predictor():
        made = nnUNetPredictor(
            perform_everything_on_device=False, device=torch.device("cpu"), allow_tqdm=False, use_mirroring=False
        )
        initialize_predictor(made, demo_segmentation_model(), ("0",), "checkpoint_final.pth")
        return made

    theirs, ours = predictor(), predictor()
    use_fast_resampling(ours)
    assert type(ours.configuration_manager) is not type(theirs.configuration_manager)
    volume = np.random.default_rng(3).normal(0, 300, size=(1, 20, 90, 80)).astype(np.float32)
    properties = {"spacing": [6.5, 2.0, 2.0]}
    results = [p.predict_single_npy_array(volume, dict(properties), None, None, True) for p in (theirs, ours)]
    (their_labels, their_probabilities), (our_labels, our_probabilities) = results
    assert our_probabilities.shape[1:] == volume.shape[1:]
    assert np.array_equal(our_labels, their_labels)
    assert np.array_equal(our_probabilities, their_probabilities)
