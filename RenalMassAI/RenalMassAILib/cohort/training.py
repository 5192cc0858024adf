"""Training a classification model package from a manifest (the paper's recipe, minus its defects).

Adam, class-balanced sampling, augmentation shared by the phases of a case, logits with
cross-entropy, batch-norm statistics recomputed on unaugmented training cases after each epoch, model
selection by validation AUC, every case scored. Resumable: the state after
each epoch is kept in the checkpoint folder; a rerun with the same arguments continues there.
"""

import csv
import dataclasses
import datetime
import itertools
import math
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from RenalMassAILib import __version__
from RenalMassAILib.classify.model_package import DEMO_NOTICE, TASKS, write_package
from RenalMassAILib.classify.networks import SUBSET_ARCHITECTURES, build_network, serves_phase_subsets
from RenalMassAILib.classify.networks.backbone import load_imagenet_weights
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.cohort.augmentation import augment
from RenalMassAILib.cohort.input_cache import cached_inputs
from RenalMassAILib.cohort.manifest import read_manifest
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.errors import InputError
from RenalMassAILib.torch_device import torch_device

LR_SCHEDULES = ("constant", "cosine")


@dataclasses.dataclass(frozen=True)
class TrainingConfig:
    architecture: str = "shared-backbone"
    tasks: tuple[str, ...] = TASKS
    phases: tuple[str, ...] = ("N", "A", "V")
    preprocessing: str = "authors-code"
    epochs: int = 30
    batch_size: int = 16
    learning_rate: float = 1e-5
    lr_schedule: str = "constant"  # or "cosine": decays per step from learning_rate to 0 over the epochs
    weight_decay: float = 0.0  # > 0: AdamW with this decoupled weight decay
    seed: int = 0
    bf16: bool = False
    augment: bool = True
    augment_shift: float = 0.1  # SD of the random shift, share of the field of view (the paper's 0.1)
    phase_dropout: float = 0.3  # shared backbone: chance to hide each phase (one always stays)
    precise_batch_norm: bool = True  # recompute BN statistics before each validation (see _precise_batch_norm)
    imagenet_weights: str | None = None
    model_id: str = "renal-mass-classifier"
    version: str = "1.0"
    demo: bool = False
    half_precision_weights: bool = False
    device: str = "cpu"  # 'auto', 'cpu' or 'cuda' (torch_device); not a setting of the recipe: a resume may move


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    package: Path
    best_epoch: int
    validation_auc: dict[str, float]
    history: list[dict]


@dataclasses.dataclass
class TrainingData:
    x: torch.Tensor  # [n, 3, H, W] in N, A, V slots
    present: torch.Tensor  # [n, 3]
    labels: torch.Tensor  # [n, tasks], NaN where a case does not count
    classes: list[str]
    case_ids: list[str]


def train(
    manifest, out, config: TrainingConfig, cache_dir=None, checkpoint_dir=None, log=print, progress: bool = True
) -> TrainingResult:
    out = Path(out)
    checkpoint_dir = Path(checkpoint_dir or out.with_name(out.name + ".training"))
    cache_dir = Path(cache_dir or checkpoint_dir / "inputs")
    rows = read_manifest(manifest)
    bar = (lambda items, **kw: tqdm(items, leave=False, **kw)) if progress else (lambda items, **kw: items)
    log(f"preparing model inputs of {len(rows)} cases (cached in {cache_dir})")
    patches, present = cached_inputs(rows, preset(config.preprocessing), cache_dir, lambda r: bar(r, desc="inputs"))
    splits = {split: _select(rows, patches, present, config, split) for split in ("train", "val")}
    return train_on(splits, out, config, checkpoint_dir, str(manifest), log, progress)


def training_data(patches, present, classes: list[str], case_ids: list[str], tasks) -> "TrainingData":
    """A split's cases as the trainer takes them: inputs [n, 3, H, W] in N, A, V slots, the phases
    present [n, 3], each case's class (benign / indolent / aggressive / ...) and id."""
    labels = [[task_label(c, task) for task in tasks] for c in classes]
    return TrainingData(
        torch.as_tensor(np.asarray(patches, dtype=np.float32)),
        torch.as_tensor(np.asarray(present, dtype=bool)),
        torch.tensor(labels, dtype=torch.float32).reshape(len(classes), len(tasks)),
        list(classes),
        list(case_ids),
    )


def train_on(
    splits: dict,
    out,
    config: TrainingConfig,
    checkpoint_dir,
    source: str,
    log=print,
    progress: bool = True,
    measure=None,
) -> TrainingResult:
    """Trains on `splits` ("train", "val": TrainingData) and writes the package; `source` names the data
    in the card (a manifest's path, or a synthetic cohort's description). `measure(network)`, if given,
    is called after each epoch's validation and the numbers it returns (a dict) join that epoch's history."""
    out, checkpoint_dir = Path(out), Path(checkpoint_dir)
    bar = (lambda items, **kw: tqdm(items, leave=False, **kw)) if progress else (lambda items, **kw: items)
    _check_splits(splits, config)
    device = torch_device(config.device)
    torch.manual_seed(config.seed)
    network = build_network(config.architecture, config.phases, config.tasks)
    if config.imagenet_weights:
        for backbone in _backbones(network):
            load_imagenet_weights(backbone, config.imagenet_weights)
    network.to(device)  # the cases stay in host memory; each batch is copied over (_on_device)
    optimizer = _optimizer(network, config)
    state = _resume(checkpoint_dir, network, optimizer, config, log)
    for epoch in range(state["epoch"] + 1, config.epochs + 1):
        loss = _train_epoch(network, optimizer, splits["train"], config, epoch, bar)
        if config.precise_batch_norm:
            _precise_batch_norm(network, splits["train"], config)
        aucs = auc_on(network, splits["val"], config)
        mean_auc = float(np.mean(list(aucs.values())))
        extra = measure(network) if measure else {}
        state["history"].append({"epoch": epoch, "loss": loss, **{f"val_auc_{t}": a for t, a in aucs.items()}, **extra})
        improved = mean_auc > state["best_auc"]
        if improved:
            state.update(best_auc=mean_auc, best_epoch=epoch, best_state=_copy_state(network))
        state["epoch"] = epoch
        _save_checkpoint(checkpoint_dir, network, optimizer, state)
        log(
            f"epoch {epoch}/{config.epochs}: loss {loss:.4f}, validation AUC "
            + ", ".join(f"{t} {a:.3f}" for t, a in aucs.items())
            + (" (best)" if improved else "")
        )
    network.load_state_dict(state["best_state"])
    network.cpu()
    best = next(h for h in state["history"] if h["epoch"] == state["best_epoch"])
    validation = {t: best[f"val_auc_{t}"] for t in config.tasks}
    card = _card(config, source, splits, state, validation, auc_by_phase_combination(network, splits["val"], config))
    card["training"]["device"] = device.type
    write_package(out, network, card, half=config.half_precision_weights)
    scores = _write_scores(network, splits["val"], config, checkpoint_dir / "validation_scores.csv")
    log(f"wrote model package {out} (best epoch {state['best_epoch']}); every validation case's score in {scores}")
    return TrainingResult(out, state["best_epoch"], validation, state["history"])


def _optimizer(network, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.lr_schedule not in LR_SCHEDULES:
        raise InputError(f"learning-rate schedule {config.lr_schedule!r}: use one of {', '.join(LR_SCHEDULES)}")
    if config.weight_decay > 0:
        return torch.optim.AdamW(network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    return torch.optim.Adam(network.parameters(), lr=config.learning_rate)


def _learning_rate(config: TrainingConfig, progress: float) -> float:
    """The rate at `progress` (0 at the first step, 1 after the last epoch's last step). Computed from
    the step rather than kept in a scheduler, so a resumed training continues the same curve."""
    if config.lr_schedule == "cosine":
        return config.learning_rate * 0.5 * (1.0 + math.cos(math.pi * progress))
    return config.learning_rate


def _select(rows, patches, present, config: TrainingConfig, split: str) -> TrainingData:
    """The split's cases; per-branch networks need all of their phases."""
    slots = [PHASE_SLOTS.index(p) for p in config.phases]
    keep = [
        i
        for i, row in enumerate(rows)
        if row.split == split and (config.architecture in SUBSET_ARCHITECTURES or present[i, slots].all())
    ]
    classes = [rows[i].pathology_class for i in keep]
    return training_data(patches[keep], present[keep], classes, [rows[i].case_id for i in keep], config.tasks)


def _check_splits(splits: dict[str, TrainingData], config: TrainingConfig) -> None:
    for split, data in splits.items():
        for t, task in enumerate(config.tasks):
            values = set(data.labels[:, t][~torch.isnan(data.labels[:, t])].tolist())
            if values != {0.0, 1.0}:
                raise InputError(
                    f"manifest: the {split} split needs cases of both classes for {task} "
                    f"(has {len(data.case_ids)} usable cases, labels {sorted(values)})"
                )


def _network_input(network, x: torch.Tensor, present: torch.Tensor, config: TrainingConfig):
    if config.architecture in SUBSET_ARCHITECTURES:
        return (x, present)
    return (x[:, [PHASE_SLOTS.index(p) for p in config.phases]],)


def _train_epoch(network, optimizer, data: TrainingData, config: TrainingConfig, epoch: int, bar) -> float:
    network.train()
    generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)  # same order after a resume
    counts = {c: data.classes.count(c) for c in set(data.classes)}
    weights = torch.tensor([1.0 / counts[c] for c in data.classes])
    order = torch.multinomial(weights, len(data.classes), replacement=True, generator=generator)
    losses = []
    starts = range(0, len(order), config.batch_size)
    for step, start in enumerate(bar(starts, desc=f"epoch {epoch}")):
        for group in optimizer.param_groups:
            group["lr"] = _learning_rate(config, (epoch - 1 + step / len(starts)) / config.epochs)
        index = order[start : start + config.batch_size]
        x, present = data.x[index].clone(), data.present[index].clone()
        if config.augment:
            x = torch.stack([augment(sample, generator, config.augment_shift) for sample in x])
        if config.architecture in SUBSET_ARCHITECTURES and config.phase_dropout:
            present = _drop_phases(present, config.phase_dropout, generator)
            x = x * present[:, :, None, None]
        x, present, labels = _on_device(network, x, present, data.labels[index])
        with _autocast(network, config):
            logits = network(*_network_input(network, x, present, config))
        loss = _loss(logits.float(), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def _precise_batch_norm(network, data: TrainingData, config: TrainingConfig, cases: int = 256) -> None:
    """Replaces the batch-norm running statistics with their exact average over (up to `cases`, spread
    over the split) unaugmented training cases, all their phases present.

    Why: the running averages follow the last few small batches of augmented, phase-dropped,
    class-resampled inputs, not the inputs the network is then validated and shipped with. On the
    synthetic cohort (scripts/classifier_recipe_study.py, README "Why the classifier does not learn the
    full mix") the training-set AUC of the evaluated network moved by up to 0.21 / 0.24 (malignancy /
    aggressiveness) between consecutive epochs with the running averages, by up to 0.07 / 0.12 with
    these, and the selected network's test AUC was 0.845 / 0.824 against 0.795 / 0.826. The weights are untouched.
    """
    norms = [m for m in network.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the passes below
    network.train()
    total = len(data.case_ids)
    chosen = torch.linspace(0, total - 1, min(cases, total)).round().long()  # spread over the split
    with torch.no_grad():
        for batch in chosen.split(max(config.batch_size, 32)):
            x, present = _on_device(network, data.x[batch], data.present[batch])
            network(*_network_input(network, x, present, config))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum


def _drop_phases(present: torch.Tensor, chance: float, generator: torch.Generator) -> torch.Tensor:
    keep = present & (torch.rand(present.shape, generator=generator) >= chance)
    empty = ~keep.any(dim=1)
    for row in torch.nonzero(empty).flatten().tolist():  # keep one available phase at random
        choices = torch.nonzero(present[row]).flatten()
        keep[row, choices[torch.randint(len(choices), (1,), generator=generator)]] = True
    return keep


def _loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on logits per task, over the cases that count for that task."""
    total = logits.new_zeros(())
    for t in range(labels.shape[1]):
        counted = ~torch.isnan(labels[:, t])
        if counted.any():
            total = total + torch.nn.functional.cross_entropy(logits[counted, t], labels[counted, t].long())
    return total


def scores_on(
    network, data: TrainingData, present: torch.Tensor, config: TrainingConfig, batch: int = 32
) -> torch.Tensor:
    """P(positive) [cases, tasks] of the network in eval mode, with the phases in `present`."""
    network.eval()
    out = []
    with torch.inference_mode(), _autocast(network, config):
        for start in range(0, len(data.case_ids), batch):
            x = data.x[start : start + batch] * present[start : start + batch, :, None, None]
            x, shown = _on_device(network, x, present[start : start + batch])
            logits = network(*_network_input(network, x, shown, config))
            out.append(torch.softmax(logits.float(), dim=-1)[..., 1].cpu())
    return torch.cat(out)


def _on_device(network, *tensors: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The tensors on the network's device (a no-op on the CPU)."""
    device = next(network.parameters()).device
    return tuple(t.to(device, non_blocking=True) for t in tensors)


def _autocast(network, config: TrainingConfig):
    return torch.autocast(next(network.parameters()).device.type, dtype=torch.bfloat16, enabled=config.bf16)


def auc_on(
    network, data: TrainingData, config: TrainingConfig, present: torch.Tensor | None = None
) -> dict[str, float]:
    scores = scores_on(network, data, data.present if present is None else present, config)
    aucs = {}
    for t, task in enumerate(config.tasks):
        counted = ~torch.isnan(data.labels[:, t])
        aucs[task] = float(roc_auc_score(data.labels[counted, t].numpy(), scores[counted, t].numpy()))
    return aucs


def _write_scores(network, data: TrainingData, config: TrainingConfig, path: Path) -> Path:
    """One row per case (the authors' test scripts kept only the last case's score)."""
    scores = scores_on(network, data, data.present, config)
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["case_id", "class", *[f"probability_{t}" for t in config.tasks]])
        for i, case_id in enumerate(data.case_ids):
            writer.writerow([case_id, data.classes[i], *[f"{float(v):.6f}" for v in scores[i]]])
    return path


def auc_by_phase_combination(network, data: TrainingData, config: TrainingConfig) -> dict:
    """AUC on `data` for each phase combination (paper Table S6 shape); networks that serve any subset only."""
    if not serves_phase_subsets(config.architecture, config.phase_dropout):
        return {}
    table = {}
    for size in (1, 2, 3):
        for combination in itertools.combinations(PHASE_SLOTS, size):
            mask = torch.tensor([p in combination for p in PHASE_SLOTS])
            present = data.present & mask
            usable = present.any(dim=1)
            if usable.all():
                table["".join(combination)] = {
                    t: round(a, 4) for t, a in auc_on(network, data, config, present).items()
                }
    return table


def _backbones(network) -> list[torch.nn.Module]:
    if hasattr(network, "backbone"):
        return [network.backbone]
    if hasattr(network, "backbones"):
        return list(network.backbones.values())
    return [b for b in network.branches()]


def _copy_state(network) -> dict:
    return {k: v.detach().clone() for k, v in network.state_dict().items()}


def _resume(folder: Path, network, optimizer, config: TrainingConfig, log) -> dict:
    path = folder / "last.pt"
    fresh = {
        "epoch": 0,
        "best_auc": -math.inf,
        "best_epoch": 0,
        "best_state": _copy_state(network),
        "history": [],
        "config": dataclasses.asdict(config),
    }
    if not path.exists():
        return fresh
    saved = torch.load(path, map_location="cpu", weights_only=True)
    # more epochs may be asked, and a training may resume on another device
    settings = lambda c: {k: v for k, v in c.items() if k not in ("epochs", "device")}  # noqa: E731
    if settings(saved.get("config", {})) != settings(fresh["config"]):
        raise InputError(
            f"checkpoint {str(path)!r} was made with other training settings; remove the folder "
            f"{str(folder)!r} to start over"
        )
    network.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    log(f"resuming after epoch {saved['epoch']} from {path}")
    return {k: saved[k] for k in fresh}


def _save_checkpoint(folder: Path, network, optimizer, state: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    temporary = folder / "last.pt.partial"
    torch.save({**state, "model": network.state_dict(), "optimizer": optimizer.state_dict()}, temporary)
    temporary.replace(folder / "last.pt")  # a crash mid-write leaves the previous checkpoint intact


def _card(config: TrainingConfig, source: str, splits: dict, state: dict, validation: dict, combinations: dict) -> dict:
    summary = {
        split: {"cases": len(d.case_ids), **{c: d.classes.count(c) for c in sorted(set(d.classes))}}
        for split, d in splits.items()
    }
    return {
        "id": config.model_id,
        "version": config.version,
        "demo": config.demo,
        "description": (DEMO_NOTICE if config.demo else "Trained with renalmassai train") + f" ({config.architecture})",
        "tasks": list(config.tasks),
        "phases": list(PHASE_SLOTS) if config.architecture in SUBSET_ARCHITECTURES else list(config.phases),
        "architecture": config.architecture,
        "preprocessing": preset(config.preprocessing).to_dict(),
        "training": {
            "source": source,  # the manifest path, or what made a synthetic cohort
            "data": summary,
            "epochs": config.epochs,
            "best_epoch": state["best_epoch"],
            "learning_rate": config.learning_rate,
            "lr_schedule": config.lr_schedule,
            "weight_decay": config.weight_decay,
            "batch_size": config.batch_size,
            "seed": config.seed,
            "bf16": config.bf16,
            "augmentation": config.augment,
            "augmentation_shift_sd": config.augment_shift if config.augment else None,
            "phase_dropout": config.phase_dropout,
            "precise_batch_norm": config.precise_batch_norm,
            "imagenet_initialised": bool(config.imagenet_weights),
            "software": f"RenalMassAI {__version__}",
            "finished": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        },
        "validation": {"auc": {t: round(a, 4) for t, a in validation.items()}, "auc_by_phases": combinations},
    }
