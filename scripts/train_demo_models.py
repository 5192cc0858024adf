"""Trains the bundled early-fusion demo classifier on the all-subtype synthetic cohort and stores it in Resources.

    .venv/bin/python scripts/train_demo_models.py [--work DIR] [--epochs 16]

Runs the recipe study (scripts/classifier_recipe_study.py) with the architecture and recipe it found
best, on the `lesion-field` preset at 224 pixels: 1000 synthetic cases of all 11 subtypes with the
clinical HU spread (700 / 150 / 150 train / validation / test), early fusion (the phases as the
channels of one ResNet-18), Adam 5e-4 with a cosine schedule, batch 16, no augmentation, no phase
dropout, batch-norm statistics recomputed after each epoch, float16 weights (`--bf16`: bfloat16
autocast, as the bundled model was trained on a CPU with AMX; float32 took 4.8 min an epoch there). The package of
the best validation epoch becomes Resources/Models/demo-early-fusion-resnet18 (version 0.3.0); it
asks for all three phases (cases lacking one are served by the older demo-shared-resnet18, which this
script does not retrain). Everything is synthetic and marked DEMO: it shows the software working, it
says nothing about real renal masses. Timings on 2 CPU cores are in the README ("The demo models").
"""

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL_ID = "demo-early-fusion-resnet18"
PACKAGE = ROOT / "Resources" / "Models" / MODEL_ID
RECIPE = "no-augmentation+no-phase-dropout+batch-16+cosine"
VERSION = "0.3.0"
CASES = 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "demo-training"))
    parser.add_argument("--epochs", type=int, default=16)
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast (as the bundled model: a CPU with AMX); not on AVX2-only CPUs",
    )
    args = parser.parse_args()
    recipe = RECIPE + ("+bf16" if args.bf16 else "")
    study = [
        sys.executable, str(ROOT / "scripts" / "classifier_recipe_study.py"), "--cases", str(CASES),
        "--epochs", str(args.epochs), "--variants", recipe, "--work", args.work, "--preprocessing", "lesion-field",
        "--architecture", "early-fusion", "--workers", "2", "--model-id", MODEL_ID, "--fp16-weights",
    ]  # fmt: skip
    code = subprocess.call(study)
    if code:
        return code
    trained = Path(args.work) / f"{CASES}-cases-lesion-field-224px-early-fusion" / recipe
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
