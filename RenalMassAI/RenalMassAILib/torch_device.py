"""The torch device a command was asked for ('auto', 'cpu' or 'cuda'), refused in one line where
PyTorch sees no CUDA GPU (rather than failing later inside the first tensor copy)."""

from RenalMassAILib.errors import InputError

DEVICES = ("auto", "cpu", "cuda")


def torch_device(name: str):
    """'auto': the CUDA GPU where PyTorch sees one, else the CPU."""
    import torch

    if name not in DEVICES:
        raise InputError(f"device {name!r}: use one of {', '.join(DEVICES)}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError(
            f"--device cuda: PyTorch {torch.__version__} sees no CUDA GPU here; use --device cpu "
            "(or install a CUDA build of torch that matches the GPU driver)"
        )
    return torch.device(name)
