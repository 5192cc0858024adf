"""nnU-Net's predictor set up from a trained-model folder without executing code from its checkpoints.

nnU-Net's own `initialize_from_trained_model_folder` reads each checkpoint with
`torch.load(weights_only=False)`, which runs whatever the pickle asks for, and imports every trainer
module to find the trainer class by name (about 2-4 s of a cold start). Here the checkpoints are read
with `torch.load(weights_only=True)`: tensors, plain Python values, torch.device and the numpy scalars
and arrays nnU-Net's training log holds are allowed, anything else is refused in one line. The network
is built from the plans as nnU-Net's own trainer builds it (`get_network_from_plans`); only for a
trainer class of its own, which may build another network, is the class looked up by name, as nnU-Net
does. Then nnU-Net's `manual_initialization` takes over: its preprocessing, sliding window and
resampling are unchanged.
"""

import inspect
import json
import re
from pathlib import Path

import numpy as np
import torch

from RenalMassAILib.errors import InputError

# what nnU-Net's save_checkpoint stores besides tensors and plain values: the device in init_args and
# numpy scalars / 0-d arrays in its training log (mean_fg_dice, ema_fg_dice, losses)
ALLOWED_GLOBALS = [
    np._core.multiarray.scalar,
    np.ndarray,
    np._core.multiarray._reconstruct,
    np.dtype,
    *(getattr(np.dtypes, name) for name in np.dtypes.__all__),  # numpy 2 pickles a dtype by its class
]

# nnU-Net trainers that build the network of the plans unchanged: nnUNetTrainer and its variants that
# change only the number of epochs or turn mirroring off (the demo model's nnUNetTrainer_20epochs)
PLAIN_TRAINER = re.compile(r"nnUNetTrainer(_\d+epochs)?(_?NoMirroring)?")


def read_checkpoint(path: Path) -> dict:
    """One nnU-Net checkpoint's dict, read without executing code."""
    try:
        with torch.serialization.safe_globals(ALLOWED_GLOBALS):
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InputError(
            f"checkpoint {path} holds more than weights and plain values ({_refused(error)}): it is not read "
            "because reading it would execute code; use a checkpoint written by nnU-Net's own training"
        ) from None
    missing = {"network_weights", "trainer_name", "init_args"} - set(checkpoint)
    if missing:
        raise InputError(f"checkpoint {path} is not an nnU-Net v2 checkpoint: it has no {', '.join(sorted(missing))}")
    return checkpoint


def _refused(error: Exception) -> str:
    """The line of torch's long message that names what it refused."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    named = [line for line in lines if "Unsupported global" in line or "but got" in line]
    return (named or lines or [type(error).__name__])[0].split(". Please")[0][:200]


def initialize_predictor(predictor, folder: Path, folds: tuple[str, ...], checkpoint_name: str) -> None:
    """Sets up `predictor` (an nnUNetPredictor) with the folder's plans and its folds' weights."""
    from nnunetv2.utilities.label_handling.label_handling import determine_num_input_channels
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    dataset_json = json.loads((folder / "dataset.json").read_text())
    plans_manager = PlansManager(json.loads((folder / "plans.json").read_text()))
    checkpoints = [read_checkpoint(folder / f"fold_{fold}" / checkpoint_name) for fold in folds]
    first = checkpoints[0]
    configuration_manager = plans_manager.get_configuration(first["init_args"]["configuration"])
    parameters = [checkpoint["network_weights"] for checkpoint in checkpoints]
    network = _network_with_weights(
        lambda: _build_network(
            first["trainer_name"],
            plans_manager,
            configuration_manager,
            determine_num_input_channels(plans_manager, configuration_manager, dataset_json),
            plans_manager.get_label_manager(dataset_json).num_segmentation_heads,
        ),
        parameters[0],
    )
    mirror_axes = first.get("inference_allowed_mirroring_axes")
    predictor.manual_initialization(
        network, plans_manager, configuration_manager, parameters, dataset_json, first["trainer_name"], mirror_axes
    )


def _network_with_weights(build, weights: dict) -> torch.nn.Module:
    """The network that build() makes, holding `weights` (copied, so that nnU-Net's loading of another
    fold never writes into this fold's tensors). Built on the meta device and then given empty memory:
    the random initialisation that the checkpoint replaces anyway cost about 1 s for a KiTS-sized
    network. A network with buffers the checkpoint lacks (set up in its constructor) is built as usual."""
    with torch.device("meta"):
        network = build()
    if any(name not in weights for name, _ in network.named_buffers()):
        network = build()
    else:
        network = network.to_empty(device="cpu")
    network.load_state_dict(weights)  # strict: every parameter and buffer from the checkpoint
    return network


def _build_network(trainer_name: str, plans_manager, configuration_manager, inputs: int, outputs: int):
    if PLAIN_TRAINER.fullmatch(trainer_name):
        from nnunetv2.utilities.get_network_from_plans import get_network_from_plans

        return get_network_from_plans(
            configuration_manager.network_arch_class_name,
            configuration_manager.network_arch_init_kwargs,
            configuration_manager.network_arch_init_kwargs_req_import,
            inputs,
            outputs,
            allow_init=True,
            deep_supervision=False,
        )
    from nnunetv2.utilities.find_objects import recursive_find_trainer_class_by_name

    trainer_class = recursive_find_trainer_class_by_name(trainer_name)
    if trainer_class is None:
        raise InputError(f"the model's trainer {trainer_name!r} is not an nnU-Net trainer installed here")
    if "plans_manager" not in inspect.signature(trainer_class.build_network_architecture).parameters:
        raise InputError(f"the model's trainer {trainer_name!r} uses nnU-Net's old network-building signature")
    return trainer_class.build_network_architecture(
        plans_manager, configuration_manager, inputs, outputs, enable_deep_supervision=False
    )
