"""Turning one of the authors' checkpoints into a model package (with the authors-code preprocessing).

Each branch's first convolution must take one channel: this project feeds one 224 x 224 slice per
phase. The authors' single-phase `Res18` defaults to `in_channel=16`, so its checkpoints may hold a
16-channel conv1; the channel count is read from the checkpoint and such a checkpoint is refused,
unless `sum_input_channels` says the network saw the same slice in every channel: then the filters
are summed into one channel, which gives exactly the same output for that input (recorded in the card).
"""

from pathlib import Path

import torch

from RenalMassAILib.classify.model_package import TASKS, load_state_dict, sha256_of, write_package
from RenalMassAILib.classify.networks import build_network
from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.errors import InputError

# First key prefix of each layout -> how many phases it takes.
_LAYOUTS = {"modelN.": 3, "model1.": 2, "Res2D.": 1}


def import_authors_checkpoint(
    checkpoint,
    task: str,
    phases: list[str],
    out,
    model_id: str | None = None,
    version: str = "1.0",
    sum_input_channels: bool = False,
) -> Path:
    checkpoint = Path(checkpoint)
    where = f"authors' checkpoint {str(checkpoint)!r}"
    if not checkpoint.is_file():
        raise InputError(f"{where}: no such file")
    if task not in TASKS:
        raise InputError(f"--task {task!r}: use one of {', '.join(TASKS)}")
    state = _state_dict(load_state_dict(checkpoint, where), where)
    layout = next((prefix for prefix in _LAYOUTS if any(k.startswith(prefix) for k in state)), None)
    if layout is None:
        raise InputError(
            f"{where}: keys like {sorted(state)[:2]} match none of the authors' networks "
            "(HybridNAV modelN.*, HybridXX model1.*, Res18 Res2D.*)"
        )
    phases = tuple(phases)
    if len(phases) != _LAYOUTS[layout] or len(set(phases)) != len(phases) or not set(phases) <= {"N", "A", "V"}:
        raise InputError(
            f"--phases {' '.join(phases)}: this checkpoint ({layout.rstrip('.')}*) takes "
            f"{_LAYOUTS[layout]} distinct phase(s) among N A V, in the order of its branches"
        )
    if layout == "modelN." and phases != ("N", "A", "V"):
        raise InputError("--phases: a HybridNAV checkpoint takes N A V in that order")
    state, channels = _one_channel_conv1(state, layout, sum_input_channels, where)
    network = build_network("authors-hybrid", phases, (task,))
    try:
        network.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise InputError(f"{where}: does not fit the authors' network ({str(error).splitlines()[0]})") from None
    card = {
        "id": model_id or f"authors-{task}-{''.join(phases)}",
        "version": version,
        "demo": False,
        "description": f"Imported from the authors' checkpoint {checkpoint.name} (SHA-256 {sha256_of(checkpoint)})",
        "tasks": [task],
        "phases": list(phases),
        "architecture": "authors-hybrid",
        "preprocessing": PRESETS["authors-code"].to_dict(),
        "training": {"source": "Xiong et al. 2025 authors' release"},
        "input_channels": channels,
    }
    return write_package(out, network, card)


def _one_channel_conv1(state: dict, layout: str, sum_input_channels: bool, where: str) -> tuple[dict, dict]:
    """The state with every branch's conv1 taking one channel, and what was read and done."""
    counts = {
        key.removesuffix(".conv1.weight"): int(value.shape[1])
        for key, value in state.items()
        if key.endswith(".conv1.weight") and value.ndim == 4 and key.count(".") == 2
    }
    wide = {branch: count for branch, count in counts.items() if count != 1}
    if not counts:
        raise InputError(f"{where}: has no branch conv1 weights ({layout}conv1.weight)")
    if not wide:
        return state, {"checkpoint": 1, "used": 1}
    described = ", ".join(f"{branch}.conv1 takes {count} input channels" for branch, count in wide.items())
    if not sum_input_channels:
        raise InputError(
            f"{where}: {described} (the authors' Res18 defaults to in_channel=16), but this project feeds "
            "one slice per phase; if the network saw that slice repeated in every channel, import with "
            "--sum-input-channels (exact for such input), otherwise retrain it with in_channel=1"
        )
    state = dict(state)
    for branch in wide:
        state[f"{branch}.conv1.weight"] = state[f"{branch}.conv1.weight"].sum(dim=1, keepdim=True)
    return state, {
        "checkpoint": max(wide.values()),
        "used": 1,
        "how": "conv1 filters summed over the input channels: exact when one slice fills every channel",
    }


def _state_dict(loaded, where: str) -> dict:
    """A plain state dict, or one wrapped in {'state_dict' | 'model' | 'model_state_dict': ...};
    DataParallel's 'module.' prefix removed."""
    if isinstance(loaded, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise InputError(f"{where}: holds no state dict of tensors (re-save it with torch.save(model.state_dict()))")
    return {k.removeprefix("module."): v for k, v in loaded.items()}
