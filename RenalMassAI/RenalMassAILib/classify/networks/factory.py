"""Building a network from a model card's architecture, phases and tasks."""

from torch import nn

from RenalMassAILib.classify.networks.authors import HybridNAV, HybridXX, Res18
from RenalMassAILib.classify.networks.cross_attention import CrossAttentionNet
from RenalMassAILib.classify.networks.early_fusion import EarlyFusionNet
from RenalMassAILib.classify.networks.shared_backbone import SharedBackboneNet

ARCHITECTURES = ("authors-hybrid", "cross-attention", "early-fusion", "shared-backbone")
# inputs in N, A, V slots with a presence mask (absent phases may be given as zeros)
SUBSET_ARCHITECTURES = ("early-fusion", "shared-backbone")


def serves_phase_subsets(architecture: str, phase_dropout: float) -> bool:
    """Whether a trained network may be given fewer phases than it has. The shared backbone encodes
    each phase alone, so it always may. Early fusion only when trained with phase dropout: trained on
    all three phases it never saw a zero channel, and on the synthetic cohort its subsets scored AUC
    0.35-0.73 against 0.98 / 0.93 with all three (README, "Why the classifier does not learn the full
    mix"), so such a package asks for all of its phases. (Trained with phase dropout it did not learn
    there, with or without presence channels or a late start of the dropout.)"""
    if architecture == "early-fusion":
        return phase_dropout > 0
    return architecture == "shared-backbone"


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
