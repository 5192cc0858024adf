"""Why the classifier does not learn on the full phantom mix: one synthetic cohort, several recipes.

    .venv/bin/python scripts/classifier_recipe_study.py [--cases 600] [--epochs 6] [--variants a,b,...]
                                                       [--work DIR] [--threads 2] [--downsample 1]
                                                       [--lesion-field K] [--preprocessing NAME]
                                                       [--size 224] [--workers 1] [--train-cases N]
                                                       [--architecture shared-backbone|early-fusion]

Makes (or reads from its cache) a synthetic cohort of all 11 subtypes with the clinical HU spread
(RenalMassAILib/cohort/synthetic_cohort.py), splits it 70 / 15 / 15 % train / validation / test by
case number, trains the network (the shared backbone unless `--architecture` says otherwise) with
each recipe variant on the same cases and prints one JSON line per variant: training loss,
training-set and validation AUC per epoch, the best epoch, the held-out test AUC of the package the
trainer selected, and seconds. Each variant changes one thing against `demo-recipe` (the recipe of the
bundled demo model), so its effect is measured alone; `a+b` runs variants a and b together.

`--downsample N` averages the cached 224-pixel inputs over N x N pixels before training (3.5: 64
pixels, about 6x faster on a CPU) to compare recipes over more epochs; the networks it trains saw
inputs that no preprocessing preset makes, so their packages are deleted once scored. `--lesion-field K`
crops each case's input to K times the lesion's diameter (at most the whole 120 mm field) and resizes it
back, so the lesion fills a like share of every input: it emulates a field of view that follows the
lesion, which no preset has yet (packages deleted likewise). `--size N` makes the preset's inputs at N
pixels directly (the same field of view; packages deleted unless N is the preset's own size);
`--workers N` makes the cohort in N processes (the same cases); `--train-cases N` trains on the first N
cases of the training split only (validation and test cases unchanged: a learning curve);
`--architecture early-fusion` trains the network that reads the phases as channels of one image.
"""

import argparse
import dataclasses
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score

from RenalMassAILib.classify.model_package import load_package
from RenalMassAILib.classify.preprocessing import PRESETS, preset
from RenalMassAILib.cohort.delong import delong_paired_test
from RenalMassAILib.cohort.synthetic_cohort import synthetic_cohort
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.cohort.training import (
    TrainingConfig,
    auc_by_phase_combination,
    auc_on,
    scores_on,
    train_on,
    training_data,
)
from RenalMassAILib.torch_threads import torch_threads

# The bundled demo model's recipe, in float32: bf16 autocast was 13x slower than float32 on an AVX2-only
# CPU without native bf16 (AMD EPYC here: 47 s vs 3.5 s per training batch of 8 three-phase cases, 2 threads).
DEMO_RECIPE = TrainingConfig(epochs=8, batch_size=8, learning_rate=5e-4, phase_dropout=0.3, demo=True)
VARIANTS = {
    "demo-recipe": {},
    "paper-lr-1e-5": {"learning_rate": 1e-5},  # `train`'s default: the paper's rate, meant for ImageNet weights
    "lr-2e-3": {"learning_rate": 2e-3},
    "no-phase-dropout": {"phase_dropout": 0.0},
    "no-precise-bn": {"precise_batch_norm": False},  # BN running averages of the last batches, as before
    "no-augmentation": {"augment": False},
    "small-shift": {"augment_shift": 0.02},  # flips, rotation and a shift of SD 2.4 mm (a center a little off)
    "batch-16": {"batch_size": 16},
    "batch-32": {"batch_size": 32},
    "bf16": {"bf16": True},
    "cosine": {"lr_schedule": "cosine"},  # the rate decays to 0 over the epochs
    "weight-decay-0.05": {"weight_decay": 0.05},  # AdamW
}


def changes_of(name: str) -> dict:
    """A variant's changes to the demo recipe; 'a+b' combines variants a and b."""
    changes = {}
    for part in name.split("+"):
        changes.update(VARIANTS[part])
    return changes


def split_of(number: int) -> str:
    return "train" if number % 20 < 14 else ("val" if number % 20 < 17 else "test")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=600)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument(
        "--variants", default=",".join(VARIANTS), help="comma-separated; a+b combines two; empty: only the cohort"
    )
    parser.add_argument("--work", default=str(Path.home() / ".cache" / "renalmassai" / "recipe-study"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--downsample", type=float, default=1.0, help="average the inputs over N x N pixels")
    parser.add_argument("--lesion-field", type=float, default=0.0, help="crop to K x the lesion's diameter")
    parser.add_argument("--preprocessing", default="authors-code", choices=sorted(PRESETS))
    parser.add_argument("--size", type=int, default=224, help="input pixels made by the preset (224: as trained)")
    parser.add_argument("--workers", type=int, default=1, help="processes that make the cohort")
    parser.add_argument("--train-cases", type=int, default=None, help="train on the first N training cases only")
    parser.add_argument("--architecture", default="shared-backbone", choices=("shared-backbone", "early-fusion"))
    parser.add_argument("--model-id", default=None, help="the kept packages' id (default: study-VARIANT)")
    parser.add_argument("--fp16-weights", action="store_true", help="store the kept packages' weights in float16")
    args = parser.parse_args()
    work = Path(args.work)
    started = time.perf_counter()
    preprocessing = dataclasses.replace(preset(args.preprocessing), size=args.size)
    cohort = synthetic_cohort(args.cases, args.seed, preprocessing, work, log=print, workers=args.workers)
    print(json.dumps({"cohort_cases": args.cases, "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    forest = center_crop_forest(cohort)
    print(json.dumps({"reference": "center-crop statistics + random forest", "test_auc": forest["test_auc"]}))
    size = round(cohort.patches.shape[-1] / args.downsample)
    if args.lesion_field:
        cohort = lesion_field(cohort, args.lesion_field, preprocessing.pixel_mm, size)
    elif args.downsample != 1:
        cohort = downsampled(cohort, size)
    # a package is kept only where its inputs are what its preset makes (the card names the preset)
    keep = args.downsample == 1 and not args.lesion_field and args.size == preset(args.preprocessing).size
    # one folder per kind of input: a rerun resumes only a training on the very same inputs
    inputs = (
        f"{args.cases}-cases-{args.preprocessing}-{args.size}px"
        + (f"-to-{size}px" if size != args.size else "")
        + (f"-train-{args.train_cases}" if args.train_cases else "")
        + (f"-lesion-field-{args.lesion_field:g}" if args.lesion_field else "")
        + (f"-{args.architecture}" if args.architecture != "shared-backbone" else "")
    )
    names = [name for name in args.variants.split(",") if name]
    for name in names:
        config = dataclasses.replace(
            DEMO_RECIPE, epochs=args.epochs, model_id=args.model_id or f"study-{name}",
            preprocessing=args.preprocessing, half_precision_weights=args.fp16_weights,
            architecture=args.architecture, **changes_of(name),
        )  # fmt: skip
        with torch_threads(args.threads):
            result = run_variant(name, config, cohort, work / inputs, keep, args.train_cases, forest["test_scores"])
            print(json.dumps(result), flush=True)
    return 0


def center_crop_forest(cohort) -> dict:
    """Is the signal in the inputs? Intensity statistics (mean, SD, 10th and 90th percentile per phase)
    of the central 20, 40 and 80 pixels of the very inputs the network sees, and a random forest fitted on
    the train and validation cases: its AUC and scores on the test cases (NaN where a case does not count)."""
    x = cohort.patches.astype(np.float32)
    middle = x.shape[-1] // 2
    statistics = []
    for half in (10, 20, 40):
        crop = x[:, :, middle - half : middle + half, middle - half : middle + half]
        statistics += [crop.mean((2, 3)), crop.std((2, 3)), *np.percentile(crop, [10, 90], axis=(2, 3))]
    features = np.concatenate(statistics, axis=1)
    aucs, scores = {}, {}
    for task in ("malignancy", "aggressiveness"):
        labels = np.array([task_label(case["class"], task) for case in cohort.cases])
        counted = ~np.isnan(labels)
        fit = counted & np.array([split_of(i) != "test" for i in range(len(labels))])
        test = counted & np.array([split_of(i) == "test" for i in range(len(labels))])
        forest = RandomForestClassifier(500, random_state=0).fit(features[fit], labels[fit])
        aucs[task] = round(float(roc_auc_score(labels[test], forest.predict_proba(features[test])[:, 1])), 3)
        in_test = np.array([split_of(i) == "test" for i in range(len(labels))])
        scores[task] = np.where(counted[in_test], forest.predict_proba(features[in_test])[:, 1], np.nan)
    return {"test_auc": aucs, "test_scores": scores}


def downsampled(cohort, size: int):
    patches = torch.nn.functional.interpolate(torch.as_tensor(cohort.patches, dtype=torch.float32), size, mode="area")
    return dataclasses.replace(cohort, patches=patches.numpy())


def lesion_field(cohort, factor: float, pixel_mm: float, size: int):
    """Each input cropped about its center to `factor` x the lesion's drawn diameter (not less than 8
    pixels, not more than the whole input) and resized to `size` pixels."""
    patches = torch.as_tensor(cohort.patches, dtype=torch.float32)
    middle = patches.shape[-1] // 2
    cropped = []
    for number, case in enumerate(cohort.cases):
        half = int(np.clip(round(factor * case["diameter_mm"] / pixel_mm / 2), 8, middle))
        window = patches[number : number + 1, :, middle - half : middle + half, middle - half : middle + half]
        cropped.append(torch.nn.functional.interpolate(window, size, mode="bilinear", antialias=True))
    return dataclasses.replace(cohort, patches=torch.cat(cropped).numpy())


def training_set_auc(network, data, config: TrainingConfig) -> dict:
    """AUC on the first 128 training cases, as the network is evaluated (eval mode, no augmentation):
    how well it fits, and how much its batch-norm statistics move it from epoch to epoch."""
    subset = training_data(data.x[:128], data.present[:128], data.classes[:128], data.case_ids[:128], config.tasks)
    return {f"train_auc_{task}": auc for task, auc in auc_on(network, subset, config).items()}


def run_variant(
    name: str,
    config: TrainingConfig,
    cohort,
    work: Path,
    keep: bool,
    train_cases: int | None = None,
    forest_scores: dict | None = None,
) -> dict:
    """Trains one variant on the cohort's training split (its first `train_cases` cases, if given) and
    scores the selected package on the test split; with the forest's test scores, also the paired
    DeLong test of the network against the forest on the same test cases."""
    splits = {}
    for split in ("train", "val", "test"):
        rows = [i for i in range(len(cohort.cases)) if split_of(i) == split]
        rows = rows[:train_cases] if split == "train" and train_cases else rows
        classes = [cohort.cases[i]["class"] for i in rows]
        splits[split] = training_data(cohort.patches[rows], cohort.present[rows], classes, rows, config.tasks)
    start = time.perf_counter()
    result = train_on(
        {"train": splits["train"], "val": splits["val"]}, work / name, config, work / f"{name}.training",
        f"synthetic cohort ({len(cohort.cases)} cases)", log=lambda message: None, progress=False,
        measure=lambda network: training_set_auc(network, splits["train"], config),
    )  # fmt: skip
    seconds = time.perf_counter() - start
    network = load_package(result.package).network
    if not keep:  # trained on downsampled inputs: its card's preprocessing would be wrong
        shutil.rmtree(result.package)
    torch.manual_seed(0)
    return {
        "variant": name,
        "changes": changes_of(name),
        "input_pixels": int(cohort.patches.shape[-1]),
        "train_cases": len(splits["train"].case_ids),
        "epochs": [{k: round(v, 4) if isinstance(v, float) else v for k, v in h.items()} for h in result.history],
        "best_epoch": result.best_epoch,
        "test_auc": {task: round(auc, 3) for task, auc in auc_on(network, splits["test"], config).items()},
        "test_auc_by_phases": auc_by_phase_combination(network, splits["test"], config),
        "versus_forest": versus_forest(network, splits["test"], config, forest_scores) if forest_scores else None,
        "seconds": round(seconds),
    }


def versus_forest(network, test, config: TrainingConfig, forest_scores: dict) -> dict:
    """Paired DeLong test per task, network (a) against the center-crop forest (b), on the test cases."""
    scores = scores_on(network, test, test.present, config)
    result = {}
    for t, task in enumerate(config.tasks):
        counted = ~torch.isnan(test.labels[:, t])
        labels = test.labels[counted, t].numpy()
        paired = delong_paired_test(labels, scores[counted, t].numpy(), forest_scores[task][counted.numpy()])
        result[task] = {"network": round(paired["auc_a"], 3), "forest": round(paired["auc_b"], 3), "p": paired["p"]}
    return result


if __name__ == "__main__":
    sys.exit(main())
