"""ResNet-18 with a one-channel first convolution, as every branch of the method uses."""

import torch
import torchvision
from torch import nn

FEATURES = 512


def resnet18_one_channel() -> torchvision.models.ResNet:
    """torchvision ResNet-18, conv1 = Conv2d(1, 64, 7, 2, 3, no bias), fc = Identity (512 features)."""
    network = torchvision.models.resnet18(weights=None)
    network.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    network.fc = nn.Identity()
    return network


def load_imagenet_weights(backbone: nn.Module, weights_path) -> None:
    """Initialises from a local torchvision ResNet-18 ImageNet state dict.

    The RGB conv1 filters are summed into the single CT channel rather than discarded (the
    authors' code threw them away), so the first layer keeps its learnt edge detectors.
    """
    state = torch.load(weights_path, map_location="cpu", weights_only=True)
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    state["conv1.weight"] = state["conv1.weight"].sum(dim=1, keepdim=True)
    missing, unexpected = backbone.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise ValueError(f"ImageNet weights {str(weights_path)!r} do not fit ResNet-18: missing {missing}, "
                         f"unexpected {unexpected}")
