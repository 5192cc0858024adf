"""One ResNet-18 that reads the three phases as the three channels of one image (early fusion): its
first convolution compares the phases pixel by pixel, as enhancement (arterial or venous minus
non-contrast, at the same place) needs. Absent phases are zero channels, so one network could serve all
seven phase combinations, but only when trained with phase dropout (factory.serves_phase_subsets), and
no recipe with phase dropout tried so far made it learn (README, "Why the classifier does not learn the
full mix"): the bundled early-fusion demo model asks for all three phases.

Why it exists: on the synthetic all-subtype cohort the shared backbone, which pools each phase into
a feature vector before the phases meet, fitted its training cases (AUC 0.99) but reached validation
AUC about 0.73 for malignancy; this network, same recipe and cases, 0.89 (README, "Why the classifier
does not learn the full mix")."""

import torch
from torch import nn

from RenalMassAILib.classify.networks.backbone import FEATURES, resnet18_one_channel
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS, task_head


class EarlyFusionNet(nn.Module):
    accepts_phase_subsets = True

    def __init__(self, tasks: tuple[str, ...]):
        super().__init__()
        self.phases = PHASE_SLOTS
        self.tasks = tuple(tasks)
        self.backbone = resnet18_one_channel()
        self.backbone.conv1 = nn.Conv2d(len(PHASE_SLOTS), 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.heads = nn.ModuleDict({task: task_head(FEATURES) for task in self.tasks})

    def gradcam_layers(self) -> list[nn.Module]:
        """One map per task, of the phases together (not one per phase)."""
        return [self.backbone.layer4[-1]]

    def forward(self, x: torch.Tensor, present: torch.Tensor | None = None) -> torch.Tensor:
        """x [B, 3, H, W] in N, A, V slots; present bool [B, 3]: absent phases are zeroed (None: all
        present, as a package that serves no subsets is called)."""
        if present is not None:
            x = x * present[:, :, None, None].to(x.dtype)
        features = self.backbone(x)
        return torch.stack([self.heads[task](features) for task in self.tasks], dim=1)
