"""Installed model packages: the bundled demo models plus a per-user (or shared) cache folder.

The cache folder is RENALMASSAI_MODELS when set (point several users at one folder to share it),
else ~/.cache/renalmassai/models. Packages are installed offline from a folder or a .zip.
"""

import dataclasses
import os
import tempfile
from pathlib import Path

from RenalMassAILib.classify.model_package import (
    ModelCard,
    copy_package,
    extract_zip,
    load_package,
    read_card,
    verify_package,
)
from RenalMassAILib.errors import InputError
from RenalMassAILib.resources import resources_dir


@dataclasses.dataclass(frozen=True)
class Installed:
    path: Path
    card: ModelCard | None
    problem: str | None = None  # why the package cannot be used


def registry_dir() -> Path:
    return Path(os.environ.get("RENALMASSAI_MODELS", Path.home() / ".cache" / "renalmassai" / "models"))


# The bundled classifier a three-phase case gets by default (its preset is the demo's default preset);
# demo-shared-resnet18, also bundled, serves the cases that lack a phase.
DEMO_CLASSIFIER = "demo-early-fusion-resnet18"


def builtin_dir() -> Path:
    return resources_dir() / "Models"


def list_installed() -> list[Installed]:
    found = []
    for root in (registry_dir(), builtin_dir()):
        if not root.is_dir():
            continue
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            try:
                found.append(Installed(folder, read_card(folder)))
            except InputError as error:
                found.append(Installed(folder, None, str(error)))
    return found


def install(source) -> Path:
    """Verifies a package folder or .zip and copies it into the registry as <id>-<version>."""
    source = Path(source)
    with tempfile.TemporaryDirectory() as scratch:
        folder = extract_zip(source, Path(scratch)) if source.suffix == ".zip" else source
        card = verify_package(folder)
        target = registry_dir() / f"{card.id}-{card.version}"
        if target.exists():
            raise InputError(f"model {card.id} {card.version} is already installed in {str(target)!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_package(folder, target)
    return target


def choose(task: str, case_phases: tuple[str, ...], explicit=None, loaded: dict | None = None):
    """The package for a task and the phases it will use: an explicit one, else the installed one
    that uses the most of the case's phases (non-demo before demo; then the higher validation AUC for
    the task with those phases, as its card records it). `loaded` (path -> package) lets several
    tasks share one loaded package."""
    loaded = {} if loaded is None else loaded
    if explicit is not None:
        package = _load(explicit, loaded)
        return package, _phases_used(package.card, case_phases, task, str(explicit))
    candidates = []
    for installed in list_installed():
        card = installed.card
        if card is None or task not in card.tasks:
            continue
        used = _usable_phases(card, case_phases)
        if used:
            candidates.append((len(used), not card.demo, _validation_auc(card, task, used), installed.path, used))
    if not candidates:
        raise InputError(
            f"no installed model for {task} can use the phases {' '.join(case_phases)}; "
            f"install one with `renalmassai models import PKG` or pass --{task}-model PKG"
        )
    *_, path, used = max(candidates, key=lambda c: c[:3])
    return _load(path, loaded), used


def _validation_auc(card: ModelCard, task: str, used: tuple[str, ...]) -> float:
    """The card's validation AUC for the task with these phases (0 where the card has none): between
    two bundled demo models, the early-fusion one serves three-phase cases and the shared backbone
    the cases that lack a phase."""
    validation = card.fields.get("validation", {})
    if tuple(used) == tuple(card.phases):
        return float(validation.get("auc", {}).get(task, 0.0))
    return float(validation.get("auc_by_phases", {}).get("".join(used), {}).get(task, 0.0))


def _load(path, loaded: dict):
    if str(path) not in loaded:
        loaded[str(path)] = load_package(path)
    return loaded[str(path)]


def _usable_phases(card: ModelCard, case_phases) -> tuple[str, ...]:
    if card.accepts_phase_subsets:
        return tuple(p for p in card.phases if p in case_phases)
    return card.phases if set(card.phases) <= set(case_phases) else ()


def _phases_used(card: ModelCard, case_phases, task: str, where: str) -> tuple[str, ...]:
    if task not in card.tasks:
        raise InputError(f"model package {where!r} predicts {', '.join(card.tasks)}, not {task}")
    used = _usable_phases(card, case_phases)
    if not used:
        raise InputError(
            f"model package {where!r} needs the phases {' '.join(card.phases)}; the case has {' '.join(case_phases)}"
        )
    return used
