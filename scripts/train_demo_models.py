"""Trains the bundled demo classifier on the all-subtype synthetic cohort and stores it in Resources.

    .venv/bin/python scripts/train_demo_models.py [--work DIR] [--epochs 14]

Runs the recipe study (scripts/classifier_recipe_study.py) with the recipe it found best, on the
`lesion-field` preset at 224 pixels: 600 synthetic cases of all 11 subtypes with the clinical HU
spread (420 / 90 / 90 train / validation / test), Adam 5e-4, batch 16, no augmentation, no phase
dropout, batch-norm statistics recomputed after each epoch, float32, float16 weights. The package of
the best validation epoch becomes Resources/Models/demo-shared-resnet18 (version 0.2.0). Everything
is synthetic and marked DEMO: it shows the software working, it says nothing about real renal masses.
On 2 CPU cores: about 20 minutes for the cohort and 42 minutes for 14 epochs.
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "Resources" / "Models" / "demo-shared-resnet18"
RECIPE = "no-augmentation+no-phase-dropout+batch-16"
VERSION = "0.2.0"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "demo-training"))
    parser.add_argument("--epochs", type=int, default=14)
    args = parser.parse_args()
    study = [
        sys.executable, str(ROOT / "scripts" / "classifier_recipe_study.py"), "--cases", "600",
        "--epochs", str(args.epochs), "--variants", RECIPE, "--work", args.work, "--preprocessing", "lesion-field",
        "--model-id", "demo-shared-resnet18", "--fp16-weights",
    ]  # fmt: skip
    code = subprocess.call(study)
    if code:
        return code
    trained = Path(args.work) / "lesion-field-224px" / RECIPE
    shutil.rmtree(PACKAGE, ignore_errors=True)
    shutil.copytree(trained, PACKAGE)
    card_path = PACKAGE / "model.json"
    card = json.loads(card_path.read_text())
    card["version"] = VERSION  # not part of the weights' checksum
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    print(f"stored {PACKAGE} (version {VERSION})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
