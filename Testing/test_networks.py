import torch

from RenalMassAILib.classify.networks import build_network
from RenalMassAILib.classify.networks.backbone import load_imagenet_weights, resnet18_one_channel


def test_shared_backbone_serves_any_phase_subset_and_ignores_absent_phases():
    torch.manual_seed(0)
    network = build_network("shared-backbone", ("N", "A", "V"), ("malignancy", "aggressiveness")).eval()
    x = torch.rand(2, 3, 224, 224)
    present = torch.tensor([[False, True, True], [True, False, False]])
    with torch.inference_mode():
        out = network(x, present)
        x_changed = x.clone()
        x_changed[0, 0] = torch.rand(224, 224)  # absent phase N of case 0
        x_changed[1, 1:] = torch.rand(2, 224, 224)  # absent phases A, V of case 1
        assert out.shape == (2, 2, 2)
        assert torch.allclose(network(x_changed, present), out, atol=1e-6)
        assert not torch.allclose(network(x, torch.tensor([[True, True, True], [True, False, False]]))[0], out[0])


def test_cross_attention_network_shape():
    network = build_network("cross-attention", ("A", "V"), ("malignancy",)).eval()
    with torch.inference_mode():
        assert network(torch.rand(1, 2, 224, 224)).shape == (1, 1, 2)


def test_imagenet_initialisation_sums_the_rgb_filters(tmp_path):
    import torchvision

    torch.manual_seed(1)
    rgb = torchvision.models.resnet18()  # stands in for the ImageNet file (no downloads here)
    torch.save(rgb.state_dict(), tmp_path / "resnet18.pth")
    backbone = resnet18_one_channel()
    load_imagenet_weights(backbone, tmp_path / "resnet18.pth")
    assert torch.allclose(backbone.conv1.weight, rgb.conv1.weight.sum(dim=1, keepdim=True))
    assert torch.equal(backbone.layer4[1].bn2.running_var, rgb.layer4[1].bn2.running_var)


def test_early_fusion_reads_the_phases_as_channels_and_ignores_absent_ones():
    torch.manual_seed(0)
    network = build_network("early-fusion", ("N", "A", "V"), ("malignancy", "aggressiveness")).eval()
    assert network.backbone.conv1.in_channels == 3
    x = torch.rand(2, 3, 64, 64)
    present = torch.tensor([[False, True, True], [True, True, True]])
    with torch.inference_mode():
        out = network(x, present)
        x_changed = x.clone()
        x_changed[0, 0] = torch.rand(64, 64)  # absent phase N of case 0
        assert out.shape == (2, 2, 2)
        assert torch.allclose(network(x_changed, present), out, atol=1e-6)
        # a present phase counts where it lies: swapping two phases' images changes the output
        swapped = x[:, [0, 2, 1]]
        assert not torch.allclose(network(swapped, present)[1], out[1], atol=1e-4)


def test_early_fusion_serves_phase_subsets_only_when_trained_with_phase_dropout():
    from RenalMassAILib.classify.networks import serves_phase_subsets

    assert serves_phase_subsets("early-fusion", 0.3) and not serves_phase_subsets("early-fusion", 0.0)
    assert serves_phase_subsets("shared-backbone", 0.0) and not serves_phase_subsets("cross-attention", 0.3)
    network = build_network("early-fusion", ("N", "A", "V"), ("malignancy",)).eval()
    x = torch.rand(1, 3, 64, 64)
    with torch.inference_mode():  # a package that serves no subsets calls it without a mask: all present
        assert torch.equal(network(x), network(x, torch.ones(1, 3, dtype=torch.bool)))
