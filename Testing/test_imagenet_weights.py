"""ImageNet initialisation from a file in torchvision's real format: the keys and shapes of
torchvision's resnet18 state dict (ResNet18_Weights.IMAGENET1K_V1, resnet18-f37072fd.pth), with
random values since nothing is downloaded here, saved with torch.save as torchvision's files are."""

import hashlib

import pytest
import torch
import torchvision

from RenalMassAILib.classify.networks.backbone import load_imagenet_weights, resnet18_one_channel
from RenalMassAILib.classify.networks.factory import build_network
from RenalMassAILib.errors import InputError


@pytest.fixture(scope="module")
def imagenet_file(tmp_path_factory):
    generator = torch.Generator().manual_seed(7)
    reference = torchvision.models.resnet18(weights=None).state_dict()
    state = {
        k: (torch.randn(v.shape, generator=generator) if v.is_floating_point() else v.clone())
        for k, v in reference.items()
    }
    path = tmp_path_factory.mktemp("imagenet") / "resnet18_random_values.pth"
    torch.save(state, path)
    return path, state


def test_backbone_takes_every_tensor_and_sums_the_rgb_filters(imagenet_file):
    path, state = imagenet_file
    backbone = resnet18_one_channel()
    load_imagenet_weights(backbone, path)
    loaded = backbone.state_dict()
    assert loaded["conv1.weight"].shape == (64, 1, 7, 7)
    torch.testing.assert_close(loaded["conv1.weight"], state["conv1.weight"].sum(dim=1, keepdim=True))
    others = [k for k in state if not k.startswith(("fc.", "conv1."))]
    assert len(others) == len(loaded) - 1  # every backbone tensor but conv1 comes from the file
    for key in others:
        assert torch.equal(loaded[key], state[key]), key


def test_every_backbone_of_a_network_is_initialised(imagenet_file):
    path, state = imagenet_file
    network = build_network("authors-hybrid", ("N", "A", "V"), ("malignancy",))
    from RenalMassAILib.cohort.training import _backbones

    backbones = list(_backbones(network))
    assert len(backbones) == 3
    for backbone in backbones:
        load_imagenet_weights(backbone, path)
        assert torch.equal(backbone.layer4[1].bn2.running_var, state["layer4.1.bn2.running_var"])


def test_files_of_another_layout_are_refused_with_one_line(imagenet_file, tmp_path):
    _, state = imagenet_file
    cases = {
        "resnet34.pth": (torchvision.models.resnet34(weights=None).state_dict(), "keys missing .*unexpected"),
        "no_layer4.pth": (
            {k: v for k, v in state.items() if not k.startswith("layer4.")},
            "keys missing \\(first: 'layer4",
        ),
        "wide_fc.pth": ({**state, "fc.weight": torch.zeros(10, 512)}, "'fc.weight' has shape \\(10, 512\\)"),
    }
    for name, (wrong, message) in cases.items():
        torch.save(wrong, tmp_path / name)
        with pytest.raises(InputError, match=message) as error:
            load_imagenet_weights(resnet18_one_channel(), tmp_path / name)
        assert "\n" not in str(error.value) and name in str(error.value) and "resnet18-f37072fd.pth" in str(error.value)
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(InputError, match="not a readable PyTorch state dict"):
        load_imagenet_weights(resnet18_one_channel(), tmp_path / "text.pth")


class Payload:
    """An arbitrary class in a pickle: torch.load(weights_only=True) must not build it."""


def test_loading_executes_no_pickled_code(tmp_path):
    torch.save({"conv1.weight": Payload()}, tmp_path / "pickled.pth")  # weights_only=True refuses the class
    with pytest.raises(InputError, match="not a readable PyTorch state dict"):
        load_imagenet_weights(resnet18_one_channel(), tmp_path / "pickled.pth")


def test_a_file_named_as_torchvision_names_it_must_match_its_hash(imagenet_file, tmp_path):
    path, _ = imagenet_file
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    good = tmp_path / f"resnet18-{digest[:8]}.pth"
    good.write_bytes(path.read_bytes())
    load_imagenet_weights(resnet18_one_channel(), good)
    truncated = tmp_path / "resnet18-f37072fd.pth"
    truncated.write_bytes(path.read_bytes()[:1000])  # an interrupted download
    with pytest.raises(InputError, match="SHA-256 does not begin with f37072fd"):
        load_imagenet_weights(resnet18_one_channel(), truncated)


def test_early_fusion_takes_the_rgb_filters_as_they_are(imagenet_file):
    path, state = imagenet_file
    network = build_network("early-fusion", ("N", "A", "V"), ("malignancy",))
    load_imagenet_weights(network.backbone, path)
    torch.testing.assert_close(network.backbone.state_dict()["conv1.weight"], state["conv1.weight"])
