"""An nnU-Net v2 trained-model folder as a segmentation model: checked when chosen, with clear errors.

A folder holds dataset.json, plans.json and fold_*/checkpoint_*.pth (what `nnUNetv2_train` writes, or
what `nnUNetv2_export_model_to_zip` packs). Label meaning comes from dataset.json by name, so KiTS21
(kidney 1, tumor 2, cyst 3), KiTS23 (regions kidney / masses / tumor) and other schemes all map to
kidney / tumor / cyst. The checkpoints (pickles) are read without executing code
(nnunet_checkpoint: torch.load with weights_only=True).

What the model is (id, version, demo) comes from an optional `renalmassai.json` beside dataset.json
(the bundled demo model has one, marking it a demo); without it the id is the dataset's name and the
folder's, the version the first 12 hex digits of the checkpoint's SHA-256, and the model is not a demo.
"""

import dataclasses
import hashlib
import json
from pathlib import Path

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.phase_detection import phase_from_name
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import KITS_LABELS

_MEANINGS = {
    "kidney": ("kidney", "kidneys", "renal parenchyma"),
    "tumor": ("tumor", "tumour", "renal tumor", "neoplasm"),
    "cyst": ("cyst", "cysts", "renal cyst"),
}


IDENTITY_FILE = "renalmassai.json"


@dataclasses.dataclass(frozen=True)
class ModelIdentity:
    id: str
    version: str
    demo: bool
    trained_on: str = ""  # e.g. "synthetic phantoms": the images its labels can be trusted on

    def summary(self) -> dict:
        return {
            "id": self.id,
            "version": self.version,
            "demo": self.demo,
            **({"trained_on": self.trained_on} if self.trained_on else {}),
        }


@dataclasses.dataclass(frozen=True)
class SegmentationModel:
    folder: Path
    folds: tuple[str, ...]
    checkpoint: str
    channels: tuple[Phase | None, ...]  # phase each input channel takes (None: the reference phase)
    output_values: dict[str, int]  # meaning -> value in nnU-Net's output label map
    configuration: str
    patch_mm: tuple[float, float, float]  # physical extent of one network patch along the image's i, j, k
    identity: "ModelIdentity" = None  # what the model is; filled by open_segmentation_model

    def channel_phases(self, reference: Phase) -> tuple[Phase, ...]:
        return tuple(reference if phase is None else phase for phase in self.channels)


def open_segmentation_model(folder, case_phases: tuple[Phase, ...] | None = None) -> SegmentationModel:
    folder = Path(folder)
    where = f"segmentation model {str(folder)!r}"
    if not folder.is_dir():
        raise InputError(f"{where}: no such folder")
    dataset = _json(folder / "dataset.json", where)
    plans = _json(folder / "plans.json", where)
    checkpoints = sorted(folder.glob("fold_*/checkpoint_final.pth")) or sorted(
        folder.glob("fold_*/checkpoint_best.pth")
    )
    if not checkpoints:
        raise InputError(
            f"{where}: no fold_*/checkpoint_final.pth (or checkpoint_best.pth); is this the trained-model "
            "folder (Dataset.../Trainer__Plans__configuration)?"
        )
    folds = tuple(sorted({p.parent.name.removeprefix("fold_") for p in checkpoints if p.name == checkpoints[0].name}))
    channels = _channels(dataset, where)
    if case_phases is not None:
        _check_channels(channels, case_phases, where)
    configuration = (
        folder.name.split("__")[-1] if "__" in folder.name else next(iter(plans.get("configurations", {})), "")
    )
    return SegmentationModel(
        folder,
        folds,
        checkpoints[0].name,
        channels,
        _output_values(dataset, where),
        configuration,
        _patch_mm(plans, configuration, where),
        _identity(folder, dataset, checkpoints[0], where),
    )


def _identity(folder: Path, dataset: dict, checkpoint: Path, where: str) -> ModelIdentity:
    """From renalmassai.json when the folder has one, else from the dataset's name and the checkpoint's hash."""
    if (folder / IDENTITY_FILE).is_file():
        fields = _json(folder / IDENTITY_FILE, where)
        if not isinstance(fields.get("id"), str) or not isinstance(fields.get("demo"), bool):
            raise InputError(f"{where}: {IDENTITY_FILE} needs a string 'id' and a true/false 'demo'")
        return ModelIdentity(
            fields["id"], str(fields.get("version", "")), fields["demo"], str(fields.get("trained_on", ""))
        )
    digest = hashlib.sha256()
    with open(checkpoint, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    name = f"{dataset.get('name', folder.parent.name)}/{folder.name}"
    return ModelIdentity(name, f"sha256:{digest.hexdigest()[:12]}", False)


def _json(path: Path, where: str) -> dict:
    if not path.is_file():
        raise InputError(f"{where}: {path.name} is missing")
    try:
        return json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"{where}: {path.name} is not valid JSON ({error})") from None


def _patch_mm(plans: dict, configuration: str, where: str) -> tuple[float, float, float]:
    """One patch's extent in mm along the image's index axes i, j, k (nnU-Net works on arrays k, j, i,
    transposed by transpose_forward). A 2D configuration's patch is taken as deep as it is wide."""
    configurations = plans.get("configurations") or {}
    settings, name = {}, configuration
    for _ in range(len(configurations)):  # a configuration may inherit from another (3d_cascade_fullres)
        if name not in configurations:
            break
        settings = configurations[name] | settings
        name = configurations[name].get("inherits_from")
    patch, spacing = settings.get("patch_size"), settings.get("spacing")
    if not patch or not spacing or len(patch) != len(spacing) or len(patch) not in (2, 3):
        raise InputError(f"{where}: plans.json has no patch_size and spacing for configuration {configuration!r}")
    extent = [float(n) * float(s) for n, s in zip(patch, spacing)]
    if len(extent) == 2:
        extent = [max(extent), *extent]
    order = plans.get("transpose_forward") or [0, 1, 2]
    array_axes = [0.0, 0.0, 0.0]
    for position, axis in enumerate(order):
        array_axes[axis] = extent[position]
    return tuple(array_axes[::-1])


def _channels(dataset: dict, where: str) -> tuple[Phase | None, ...]:
    names = dataset.get("channel_names") or dataset.get("modality")
    if not isinstance(names, dict) or not names:
        raise InputError(f"{where}: dataset.json has no channel_names")
    ordered = [names[k] for k in sorted(names, key=int)]
    if len(ordered) == 1:
        return (phase_from_name(ordered[0]),)
    phases = tuple(phase_from_name(name) for name in ordered)
    if None in phases:
        raise InputError(f"{where}: channels {ordered} do not name phases (non-contrast / arterial / venous)")
    return phases


def _check_channels(channels, case_phases, where: str) -> None:
    needed = [p for p in channels if p is not None]
    missing = [p for p in needed if p not in case_phases]
    if missing:
        raise InputError(
            f"{where}: takes {len(channels)} channel(s) ({', '.join(p.long_name for p in needed)}); "
            f"the case lacks {', '.join(p.long_name for p in missing)}"
        )


def _output_values(dataset: dict, where: str) -> dict[str, int]:
    """Meaning -> output value. Region-based models (KiTS23) output regions_class_order values."""
    labels = dataset.get("labels")
    if not isinstance(labels, dict):
        raise InputError(f"{where}: dataset.json has no labels")
    order = dataset.get("regions_class_order")
    regions = [name for name in labels if name != "background"]
    values = {}
    if order is None and any(isinstance(labels[name], list) for name in regions):
        raise InputError(f"{where}: region labels without regions_class_order")
    for index, name in enumerate(regions):
        value = order[index] if order is not None else labels[name]  # regions: output value from the order
        meaning = _meaning(name)
        if meaning and meaning not in values:
            values[meaning] = int(value)
    if "cyst" not in values and "masses" in labels and isinstance(labels["masses"], list) and order:
        values["cyst"] = int(order[regions.index("masses")])  # KiTS23: a mass that is not tumor is a cyst
    if "tumor" not in values:
        raise InputError(
            f"{where}: no tumor label among {sorted(labels)} (expected names like {', '.join(_MEANINGS['tumor'])})"
        )
    return values


def _meaning(name: str) -> str | None:
    key = name.strip().lower().replace("_", " ")
    for meaning, names in _MEANINGS.items():
        if key in names:
            return meaning
    return None


def to_kits_values(output_values: dict[str, int]) -> dict[int, int]:
    """nnU-Net output value -> this project's label value (kidney 1, tumor 2, cyst 3)."""
    return {value: KITS_LABELS[meaning] for meaning, value in output_values.items()}
