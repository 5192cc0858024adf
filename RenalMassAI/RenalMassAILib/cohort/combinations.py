"""Training for every phase combination (the paper's Table S6): one command, one summary table.

Per-branch architectures (authors, cross-attention) get one package per combination, sharing one
model-input cache; the shared-backbone network is trained once and evaluated with each combination
masked in (one package serves all seven)."""

import csv
import dataclasses
import itertools
import json
from pathlib import Path

from RenalMassAILib.classify.networks import SUBSET_ARCHITECTURES
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS
from RenalMassAILib.cohort.training import TrainingConfig, train

COMBINATIONS = tuple("".join(c) for size in (1, 2, 3) for c in itertools.combinations(PHASE_SLOTS, size))
TABLE_FILE = "auc_by_phases.csv"


def train_every_combination(
    manifest, out, config: TrainingConfig, cache_dir=None, log=print, progress: bool = True
) -> dict[str, dict[str, float]]:
    """Validation AUC per phase combination and task; packages under out/, table in out/auc_by_phases.csv."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = {}
    if config.architecture in SUBSET_ARCHITECTURES:
        result = train(manifest, out / "shared-backbone", config, cache_dir, log=log, progress=progress)
        table = json.loads((result.package / "model.json").read_text())["validation"]["auc_by_phases"]
    else:
        cache_dir = Path(cache_dir or out / "inputs")
        for combination in COMBINATIONS:
            log(f"--- phases {combination} ---")
            combination_config = dataclasses.replace(
                config, phases=tuple(combination), model_id=f"{config.model_id}-{combination}"
            )
            result = train(
                manifest,
                out / combination,
                combination_config,
                cache_dir,
                out / f"{combination}.training",
                log=log,
                progress=progress,
            )
            table[combination] = {task: round(auc, 4) for task, auc in result.validation_auc.items()}
    _write_table(table, config.tasks, out / TABLE_FILE)
    return table


def format_table(table: dict, tasks) -> str:
    lines = ["phases  " + "  ".join(f"{t:>14}" for t in tasks)]
    for combination in COMBINATIONS:
        if combination in table:
            lines.append(
                f"{combination:<7} " + "  ".join(f"{table[combination].get(t, float('nan')):>14.3f}" for t in tasks)
            )
    return "\n".join(lines)


def _write_table(table: dict, tasks, path: Path) -> None:
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["phases", *[f"val_auc_{t}" for t in tasks]])
        for combination in COMBINATIONS:
            if combination in table:
                writer.writerow([combination, *[table[combination].get(t, "") for t in tasks]])
