"""nnU-Net's whole-volume default path on a CPU, where running it takes hours: its network passes are
projected from one timed pass, and everything else (preprocessing, the sliding window's Gaussian
weighting and mirroring flips, resampling the logits back, labels) is measured by running the same
path with the network taken out.

The stand-in network returns zeros at once, so the run costs what the path costs around the network;
it also counts the passes the path makes (tiles x mirrors), so the projection multiplies the pass time
by the passes nnU-Net really runs, not by a count worked out beside it.
"""

from unittest import mock

import torch

from RenalMassAILib.bench.repeated import repeated
from RenalMassAILib.lesion import segmentation as segmentation_module
from RenalMassAILib.lesion.nnunet_predictor import nnunet_predictor
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment

# nnU-Net's own defaults: the whole volume, tiles overlapping by half, all mirrors
DEFAULT_PATH = SegmentationOptions(fast=False, mirroring=True, tile_step_size=0.5, backend="torch", bf16=False)


class ZeroNetwork(torch.nn.Module):
    """Stands in for nnU-Net's network: logits of zeros for every head, at no cost."""

    def __init__(self, heads: int):
        super().__init__()
        self.heads = heads

    def load_state_dict(self, state_dict, strict=True, assign=False):
        pass  # nnU-Net loads each fold's parameters before its sliding window: nothing to load here

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros((x.shape[0], self.heads, *x.shape[2:]), dtype=torch.float32)


def _predictor_without_network(*args, **kwargs):
    predictor = nnunet_predictor(*args, **kwargs)
    predictor.network = ZeroNetwork(predictor.label_manager.num_segmentation_heads)
    return predictor


def without_network(case, model, repeats: int = 1) -> dict:
    """The default path on `case` with the network taken out: seconds (median, min, max of `repeats`) and
    the network passes it made."""
    with mock.patch.object(segmentation_module, "nnunet_predictor", _predictor_without_network):
        result, timing = repeated(lambda: segment(case, model, None, DEFAULT_PATH), repeats)
    return {**timing, "forward_passes": result.forward_passes}


def projected(around_network: dict, seconds_per_pass: float) -> dict:
    """The default path's time: its passes x one pass's seconds, plus what it costs around the network."""
    network = around_network["forward_passes"] * seconds_per_pass
    return {
        "seconds": round(network + around_network["seconds"]),
        "network_seconds": round(network),
        "around_network_seconds": around_network["seconds"],
        "forward_passes": around_network["forward_passes"],
        "seconds_per_pass": round(seconds_per_pass, 2),
    }
