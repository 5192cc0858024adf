"""Classification networks. Every network takes x [B, P, H, W] (P phases, in `network.phases`
order; shared-backbone networks also take a presence mask) and returns logits [B, T, 2] for its
T tasks, index 1 = positive class (malignant / aggressive)."""

from RenalMassAILib.classify.networks.factory import (  # noqa: F401
    ARCHITECTURES,
    SUBSET_ARCHITECTURES,
    build_network,
    serves_phase_subsets,
)
