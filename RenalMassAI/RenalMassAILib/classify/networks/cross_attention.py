"""The paper's design: one ResNet-18 per phase and cross-attention fusion of their features."""

import torch
from torch import nn

from RenalMassAILib.classify.networks.backbone import FEATURES, resnet18_one_channel
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS, PhaseFusion, task_head


class CrossAttentionNet(nn.Module):
    accepts_phase_subsets = False

    def __init__(self, phases: tuple[str, ...], tasks: tuple[str, ...]):
        super().__init__()
        self.phases = tuple(phases)
        self.tasks = tuple(tasks)
        self.backbones = nn.ModuleDict({phase: resnet18_one_channel() for phase in self.phases})
        self.fusion = PhaseFusion(FEATURES)
        self.heads = nn.ModuleDict({task: task_head(FEATURES) for task in self.tasks})

    def gradcam_layers(self) -> list[nn.Module]:
        return [self.backbones[phase].layer4[-1] for phase in self.phases]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        tokens = x.new_zeros(batch, len(PHASE_SLOTS), FEATURES)
        present = torch.zeros(batch, len(PHASE_SLOTS), dtype=torch.bool, device=x.device)
        for i, phase in enumerate(self.phases):
            slot = PHASE_SLOTS.index(phase)
            tokens[:, slot] = self.backbones[phase](x[:, i : i + 1])
            present[:, slot] = True
        fused = self.fusion(tokens, present)
        return torch.stack([self.heads[task](fused) for task in self.tasks], dim=1)
