"""Training augmentation, drawn once per case and applied identically to all its phases (the
authors drew it per phase, which misaligned the phases of one case)."""

import torch
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F


def augment(x: torch.Tensor, generator: torch.Generator, shift_sd: float = 0.1) -> torch.Tensor:
    """x [P, H, W]: random shift (SD `shift_sd` of the size; the paper's recipe: 0.1), rotation
    (+-10 degrees), horizontal and vertical flips."""
    height, width = x.shape[-2:]
    shift = torch.randn(2, generator=generator) * shift_sd * torch.tensor([width, height])
    angle = float(torch.rand(1, generator=generator) * 20 - 10)
    x = F.affine(
        x,
        angle=angle,
        translate=[int(shift[0].round()), int(shift[1].round())],
        scale=1.0,
        shear=[0.0, 0.0],
        interpolation=InterpolationMode.BILINEAR,
        fill=0.0,
    )
    if torch.rand(1, generator=generator) < 0.5:
        x = x.flip(-1)
    if torch.rand(1, generator=generator) < 0.5:
        x = x.flip(-2)
    return x
