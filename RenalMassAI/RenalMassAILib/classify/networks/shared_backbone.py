"""One ResNet-18 for every phase, attention fusion and one head per task: one model serves all
seven phase combinations and both tasks."""

import torch
from torch import nn

from RenalMassAILib.classify.networks.backbone import FEATURES, resnet18_one_channel
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS, PhaseFusion, task_head


class SharedBackboneNet(nn.Module):
    accepts_phase_subsets = True

    def __init__(self, tasks: tuple[str, ...]):
        super().__init__()
        self.phases = PHASE_SLOTS
        self.tasks = tuple(tasks)
        self.backbone = resnet18_one_channel()
        self.fusion = PhaseFusion(FEATURES)
        self.heads = nn.ModuleDict({task: task_head(FEATURES) for task in self.tasks})

    def gradcam_layers(self) -> list[nn.Module]:
        return [self.backbone.layer4[-1]]

    def forward(self, x: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """x [B, 3, H, W] in N, A, V slots; present bool [B, 3]. Only present phases are computed,
        as one batch through the backbone (so Grad-CAM gets every phase from one backward pass)."""
        batch = x.shape[0]
        features = self.backbone(x[present].unsqueeze(1))
        tokens = features.new_zeros(batch, len(self.phases), features.shape[-1])
        tokens[present] = features
        fused = self.fusion(tokens, present)
        return torch.stack([self.heads[task](fused) for task in self.tasks], dim=1)
