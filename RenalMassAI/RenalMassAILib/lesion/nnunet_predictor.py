"""nnU-Net v2's own predictor, with step progress, bfloat16 autocast on the CPU and test-time mirroring
within a budget of network evaluations."""

import contextlib
import sys
from collections.abc import Callable

import torch

from RenalMassAILib.lesion.nnunet_model import SegmentationModel

# Auto mirroring: per box at most this many network evaluations (tiles x mirrors). One patch gets all 8
# mirrors; a box of two tiles 4 (two axes), of three or four tiles 2 (one axis), of more none.
MIRROR_BUDGET = 8

Progress = Callable[[str, int, int, str], None]  # stage, step, steps, message


def mirror_axes_within_budget(allowed_axes, tiles: int, budget: int = MIRROR_BUDGET) -> tuple[int, ...]:
    """The most mirror axes such that tiles x 2^axes <= budget; the network's last (in-plane) axes first."""
    preferred = sorted(allowed_axes or (), reverse=True)
    count = 0
    while count < len(preferred) and tiles * 2 ** (count + 1) <= budget:
        count += 1
    return tuple(sorted(preferred[:count]))


def nnunet_predictor(
    model: SegmentationModel,
    mirroring: bool | None,
    tile_step_size: float,
    bf16: bool,
    device: torch.device,
    report: Progress,
):
    """mirroring: True all of the model's axes, False none, None (auto) as many as MIRROR_BUDGET allows."""
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    class ReportingPredictor(nnUNetPredictor):
        evaluations = 0  # network forward passes, mirrors included
        steps_total = 0

        def _internal_get_sliding_window_slicers(self, image_size):
            slicers = super()._internal_get_sliding_window_slicers(image_size)
            self.steps_total, self.region_steps = len(slicers), 0
            if mirroring is None:
                self.allowed_mirroring_axes = mirror_axes_within_budget(self.model_mirror_axes, len(slicers))
            self.use_mirroring = bool(self.allowed_mirroring_axes) and mirroring is not False
            return slicers

        def _internal_maybe_mirror_and_predict(self, x):
            autocast = bf16 and device.type == "cpu"
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                prediction = super()._internal_maybe_mirror_and_predict(x)
            self.evaluations += 2 ** len(self.allowed_mirroring_axes) if self.use_mirroring else 1
            self.region_steps += 1
            report("predict", self.region_steps, self.steps_total, "sliding window")
            return prediction.float()

    with contextlib.redirect_stdout(sys.stderr):  # nnU-Net prints a notice on every CPU predictor; stdout is for data
        predictor = ReportingPredictor(
            tile_step_size=tile_step_size,
            use_gaussian=True,
            use_mirroring=mirroring is not False,
            perform_everything_on_device=device.type == "cuda",
            device=device,
            verbose=False,
            verbose_preprocessing=False,
            allow_tqdm=False,
        )
    report("load", 0, 1, f"loading {model.folder.name}")
    predictor.initialize_from_trained_model_folder(str(model.folder), model.folds, model.checkpoint)
    predictor.model_mirror_axes = tuple(predictor.allowed_mirroring_axes or ())
    report("load", 1, 1, "model loaded")
    return predictor
