"""ResNet-18 with a one-channel first convolution, as every branch of the method uses."""

import functools
import hashlib
import pickle
import re
from pathlib import Path

import torch
import torchvision
from torch import nn

from RenalMassAILib.errors import InputError

FEATURES = 512
# torchvision's file for ResNet18_Weights.IMAGENET1K_V1; the digits in its name begin its SHA-256.
IMAGENET_URL = "https://download.pytorch.org/models/resnet18-f37072fd.pth"
# torchvision names downloaded weight files <name>-<first hex digits of their SHA-256>.pth
_HASH_IN_NAME = re.compile(r"-([0-9a-f]{8,64})\.pth?$")


def resnet18_one_channel() -> torchvision.models.ResNet:
    """torchvision ResNet-18, conv1 = Conv2d(1, 64, 7, 2, 3, no bias), fc = Identity (512 features)."""
    network = torchvision.models.resnet18(weights=None)
    network.conv1 = nn.Conv2d(1, 64, kernel_size=7, stride=2, padding=3, bias=False)
    network.fc = nn.Identity()
    return network


def load_imagenet_weights(backbone: nn.Module, weights_path) -> None:
    """Initialises `backbone` from a local torchvision ResNet-18 ImageNet state dict.

    The file must hold exactly torchvision's resnet18 keys and shapes (its 1000-class `fc` is
    dropped; `num_batches_tracked` entries may be absent, as in files saved by old PyTorch). The RGB
    conv1 filters are summed into the single CT channel rather than discarded (the authors' code
    threw them away), so the first layer keeps its learnt edge detectors; a three-channel conv1 (early
    fusion: N, A, V as channels) takes them as they are. A file named as torchvision
    names its downloads (resnet18-<hex>.pth) must have a SHA-256 beginning with those digits.
    """
    path = Path(weights_path)
    state = _read_state_dict(path)
    _check_resnet18_layout(state, path)
    own = backbone.state_dict()
    for key, value in state.items():
        if not key.startswith("fc."):
            one_channel = key == "conv1.weight" and own[key].shape[1] == 1
            own[key] = value.sum(dim=1, keepdim=True) if one_channel else value
    backbone.load_state_dict(own, strict=True)


def _read_state_dict(path: Path) -> dict:
    where = f"ImageNet weights {str(path)!r}"
    match = _HASH_IN_NAME.search(path.name)
    try:
        if match and not hashlib.sha256(path.read_bytes()).hexdigest().startswith(match.group(1)):
            raise InputError(
                f"{where}: SHA-256 does not begin with {match.group(1)} as its name says "
                f"(incomplete download?): fetch {IMAGENET_URL} again"
            )
        state = torch.load(path, map_location="cpu", weights_only=True)
    except InputError:
        raise
    except (OSError, RuntimeError, EOFError, pickle.UnpicklingError) as error:  # what torch.load raises
        raise InputError(
            f"{where}: not a readable PyTorch state dict ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}); use torchvision's "
            f"resnet18 file ({IMAGENET_URL})"
        ) from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(
            f"{where}: holds a {type(state).__name__}, not a state dict of tensors; use torchvision's "
            f"resnet18 file ({IMAGENET_URL})"
        )
    return state


@functools.lru_cache(maxsize=1)
def _resnet18_shapes() -> dict[str, tuple]:
    """torchvision resnet18's state-dict keys and tensor shapes (what its ImageNet file holds)."""
    return {k: tuple(v.shape) for k, v in torchvision.models.resnet18(weights=None).state_dict().items()}


def _check_resnet18_layout(state: dict, path: Path) -> None:
    expected = _resnet18_shapes()
    optional = {k for k in expected if k.endswith("num_batches_tracked")}
    missing = sorted(set(expected) - optional - set(state))
    unexpected = sorted(set(state) - set(expected))
    wrong = sorted(k for k in set(state) & set(expected) if tuple(state[k].shape) != expected[k])
    where = f"ImageNet weights {str(path)!r}"
    advice = f"expected torchvision's resnet18 state dict ({IMAGENET_URL})"
    if missing or unexpected:
        raise InputError(
            f"{where}: {len(missing)} keys missing (first: {(missing or [None])[0]!r}), "
            f"{len(unexpected)} unexpected (first: {(unexpected or [None])[0]!r}); {advice}"
        )
    if wrong:
        raise InputError(
            f"{where}: {wrong[0]!r} has shape {tuple(state[wrong[0]].shape)}, resnet18 has "
            f"{expected[wrong[0]]} ({len(wrong)} tensors differ); {advice}"
        )
