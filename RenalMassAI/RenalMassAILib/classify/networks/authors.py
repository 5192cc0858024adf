"""The authors' layout (github.com/shuowang26/renal-mass-ai), so their state dicts load unchanged.

HybridNAV: backbones modelN / modelA / modelV; HybridXX: model1 / model2; both with the head fc_all.
Res18: one backbone `Res2D` whose fc is the classifier. Outputs are logits (the authors applied
softmax inside the network; probabilities here come from softmax(logits), which is identical).
"""

import torch
from torch import nn

from RenalMassAILib.classify.networks.backbone import FEATURES, resnet18_one_channel


def authors_head(in_features: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, 512),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(512, 512),
        nn.ReLU(inplace=True),
        nn.Dropout(0.5),
        nn.Linear(512, 512),
        nn.Linear(512, 2),
    )


class HybridNAV(nn.Module):
    def __init__(self):
        super().__init__()
        self.phases = ("N", "A", "V")
        self.modelN, self.modelA, self.modelV = (resnet18_one_channel() for _ in range(3))
        self.fc_all = authors_head(3 * FEATURES)

    def branches(self) -> list[nn.Module]:
        return [self.modelN, self.modelA, self.modelV]

    def forward(self, x):
        features = [branch(x[:, i : i + 1]) for i, branch in enumerate(self.branches())]
        return self.fc_all(torch.cat(features, dim=1)).unsqueeze(1)


class HybridXX(nn.Module):
    def __init__(self, phases: tuple[str, str]):
        super().__init__()
        self.phases = tuple(phases)
        self.model1, self.model2 = resnet18_one_channel(), resnet18_one_channel()
        self.fc_all = authors_head(2 * FEATURES)

    def branches(self) -> list[nn.Module]:
        return [self.model1, self.model2]

    def forward(self, x):
        features = [branch(x[:, i : i + 1]) for i, branch in enumerate(self.branches())]
        return self.fc_all(torch.cat(features, dim=1)).unsqueeze(1)


class Res18(nn.Module):
    def __init__(self, phase: str):
        super().__init__()
        self.phases = (phase,)
        self.Res2D = resnet18_one_channel()
        self.Res2D.fc = nn.Linear(FEATURES, 2)

    def branches(self) -> list[nn.Module]:
        return [self.Res2D]

    def forward(self, x):
        return self.Res2D(x[:, :1]).unsqueeze(1)
