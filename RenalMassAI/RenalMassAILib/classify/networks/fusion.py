"""Attention fusion of per-phase features, tolerant of missing phases (the paper's late fusion)."""

import torch
from torch import nn

PHASE_SLOTS = ("N", "A", "V")


class PhaseFusion(nn.Module):
    """Phase tokens (features + a learnt phase embedding) attend to each other; the present
    tokens are averaged. Missing phases are masked out of both steps."""

    def __init__(self, features: int, heads: int = 8):
        super().__init__()
        self.phase_embedding = nn.Parameter(torch.zeros(len(PHASE_SLOTS), features))
        self.attention = nn.MultiheadAttention(features, heads, batch_first=True)
        self.norm = nn.LayerNorm(features)

    def forward(self, tokens: torch.Tensor, present: torch.Tensor) -> torch.Tensor:
        """tokens [B, 3, F] (zeros where absent), present bool [B, 3] -> fused [B, F]."""
        tokens = tokens + self.phase_embedding
        attended, _ = self.attention(tokens, tokens, tokens, key_padding_mask=~present, need_weights=False)
        tokens = self.norm(tokens + attended)
        weights = present.to(tokens.dtype).unsqueeze(-1)
        return (tokens * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def task_head(features: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(features, 256), nn.ReLU(inplace=True), nn.Dropout(0.3), nn.Linear(256, 2))
