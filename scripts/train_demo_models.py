"""Trains the bundled demo classifier on synthetic phantoms with `renalmassai train`.

    .venv/bin/python scripts/train_demo_models.py [--cases 400] [--epochs 25] [--work DIR]

Writes a phantom cohort (NIfTI + manifest.csv) into the work folder, trains the shared-backbone
network for both tasks, stores it (fp16) in Resources/Models/demo-shared-resnet18, and prints its
AUC on held-out test phantoms for every phase combination. Everything it makes is synthetic and
marked DEMO: it shows the software working, it says nothing about real renal masses.
"""

import argparse
import itertools
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from RenalMassAILib.case.loading import load_case
from RenalMassAILib.classify.model_package import load_package
from RenalMassAILib.classify.prediction import predict
from RenalMassAILib.cli import main as renalmassai
from RenalMassAILib.cohort.manifest import read_manifest
from RenalMassAILib.cohort.phantom_cohort import write_phantom_cohort
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.prepare import prepare_case

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "Resources" / "Models" / "demo-shared-resnet18"
# A small cohort, no ImageNet weights and a CPU budget of minutes need classes that differ clearly
# (this is a demo of the software, not of the method): half the between-patient HU spread of the
# clinical table, and of the phantoms drawn from MIX only the subtypes that look distinct are used
# (from-scratch training on the full mix stayed at chance level within 30 epochs).
VARIABILITY = 0.5
DEMO_SUBTYPES = ("ccRCC", "papillary", "classic-AML", "bosniak-2F", "bosniak-4")


def make_cohort(folder: Path, cases: int, seed: int = 100) -> Path:
    return write_phantom_cohort(
        folder, cases, seed, DEMO_SUBTYPES, variability=VARIABILITY, log=lambda text: print(text, flush=True)
    )


def test_auc(manifest: Path) -> dict:
    """AUC on the test split through the engine's own prediction path, for every phase combination."""
    package = load_package(PACKAGE)
    rows = [r for r in read_manifest(manifest) if r.split == "test"]
    inputs, labels = [], []
    for row in rows:
        case = load_case({p: str(path) for p, path in row.images.items()}, row.case_id)
        label_map = read_label_map(row.segmentation, case.reference) if row.segmentation else None
        inputs.append(prepare_case(case, package.card.preprocessing, label_map, row.center_lps).model_input)
        labels.append(row.pathology_class)
    table = {"cases": len(rows)}
    for size in (1, 2, 3):
        for combination in itertools.combinations("NAV", size):
            scores = [predict(package, model_input, combination) for model_input in inputs]
            table["".join(combination)] = {}
            for task in package.card.tasks:
                truth = np.array([task_label(c, task) for c in labels])
                counted = ~np.isnan(truth)
                probability = np.array([s[task].probability for s in scores])
                table["".join(combination)][task] = round(float(roc_auc_score(truth[counted], probability[counted])), 3)
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "demo-training"))
    args = parser.parse_args()
    work = Path(args.work)
    manifest = work / "manifest.csv"
    if not manifest.exists():
        manifest = make_cohort(work, args.cases)
    if PACKAGE.exists():
        shutil.rmtree(PACKAGE)
    code = renalmassai(
        [
            "train",
            "--manifest",
            str(manifest),
            "--out",
            str(PACKAGE),
            "--architecture",
            "shared-backbone",
            "--epochs",
            str(args.epochs),
            "--lr",
            "5e-4",
            "--batch-size",
            "8",
            "--bf16",
            "--demo",
            "--fp16-weights",
            "--id",
            "demo-shared-resnet18",
            "--version",
            "0.1.0",
            "--checkpoint-dir",
            str(work / "checkpoint"),
        ]
    )
    if code:
        return code
    print(json.dumps({"test_auc_by_phases": test_auc(manifest)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
