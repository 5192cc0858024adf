"""Building a network from a model card's architecture, phases and tasks."""

from torch import nn

from RenalMassAILib.classify.networks.authors import HybridNAV, HybridXX, Res18
from RenalMassAILib.classify.networks.cross_attention import CrossAttentionNet
from RenalMassAILib.classify.networks.early_fusion import EarlyFusionNet
from RenalMassAILib.classify.networks.shared_backbone import SharedBackboneNet

ARCHITECTURES = ("authors-hybrid", "cross-attention", "early-fusion", "shared-backbone")
# one network for every phase combination: inputs in N, A, V slots and a presence mask
SUBSET_ARCHITECTURES = ("early-fusion", "shared-backbone")


def build_network(architecture: str, phases: tuple[str, ...], tasks: tuple[str, ...]) -> nn.Module:
    phases, tasks = tuple(phases), tuple(tasks)
    if architecture == "authors-hybrid":
        if len(tasks) != 1:
            raise ValueError("authors-hybrid networks have one task each")
        if phases == ("N", "A", "V"):
            return HybridNAV()
        if len(phases) == 2:
            return HybridXX(phases)
        if len(phases) == 1:
            return Res18(phases[0])
        raise ValueError(f"authors-hybrid: phases {phases} must be N A V, two phases or one")
    if architecture == "cross-attention":
        return CrossAttentionNet(phases, tasks)
    if architecture == "shared-backbone":
        return SharedBackboneNet(tasks)
    if architecture == "early-fusion":
        return EarlyFusionNet(tasks)
    raise ValueError(f"unknown architecture {architecture!r}: use one of {ARCHITECTURES}")


def gradcam_layers(network: nn.Module) -> list[nn.Module]:
    """Last residual block of each backbone (one for a shared backbone)."""
    if hasattr(network, "gradcam_layers"):
        return network.gradcam_layers()
    return [branch.layer4[-1] for branch in network.branches()]
