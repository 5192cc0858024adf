"""The cohort subcommands: train, batch, evaluate, baseline and labels."""

import argparse
import json
import sys
from pathlib import Path

from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.cli.arguments import label_meanings
from RenalMassAILib.errors import InputError

_PROBLEMS_SHOWN = 20


def add_train(commands) -> argparse.ArgumentParser:
    """`train`: a classification model package from a manifest."""
    train = commands.add_parser("train", help="train a classification model package from a manifest CSV")
    train.add_argument(
        "--manifest",
        required=True,
        metavar="CSV",
        help="columns case_id, non_contrast, arterial, venous, segmentation or center_lps, class, split",
    )
    train.add_argument("--out", required=True, metavar="PKG", help="model package folder to write")
    train.add_argument(
        "--architecture",
        default="shared-backbone",
        choices=("shared-backbone", "early-fusion", "authors-hybrid", "cross-attention"),
        help="early-fusion: the phases as channels of one ResNet-18 (README: far better on the synthetic cohort)",
    )
    train.add_argument(
        "--tasks", nargs="+", default=["malignancy", "aggressiveness"], choices=("malignancy", "aggressiveness")
    )
    train.add_argument("--phases", nargs="+", default=["N", "A", "V"], help="phases of per-branch networks")
    train.add_argument("--preprocessing", default="authors-code", choices=sorted(PRESETS))
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-5, help="Adam learning rate (paper: 1e-5, ImageNet-initialised)")
    train.add_argument(
        "--lr-schedule", default="constant", choices=("constant", "cosine"), help="cosine: decays to 0 over the epochs"
    )
    train.add_argument("--weight-decay", type=float, default=0.0, help="> 0: AdamW with this decoupled weight decay")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument(
        "--bf16",
        action="store_true",
        help="bfloat16 autocast: for GPUs and CPUs with native bf16 (AVX-512 BF16, AMX); 13x slower on AVX2-only CPUs",
    )
    train.add_argument(
        "--device", default="auto", choices=("auto", "cpu", "cuda"), help="auto: the CUDA GPU where PyTorch sees one"
    )
    train.add_argument("--no-augment", action="store_true")
    train.add_argument("--phase-dropout", type=float, default=0.3)
    train.add_argument("--imagenet-weights", metavar="PTH", help="local torchvision resnet18 ImageNet state dict")
    train.add_argument("--id", default="renal-mass-classifier")
    train.add_argument("--version", default="1.0")
    train.add_argument("--demo", action="store_true", help="mark the package (and all its outputs) as a demo model")
    train.add_argument("--fp16-weights", action="store_true", help="store the weights in float16 (half the size)")
    train.add_argument("--cache", metavar="DIR", help="model-input cache (default: beside the checkpoint)")
    train.add_argument("--checkpoint-dir", metavar="DIR", help="resumable training state (default: PKG.training)")
    train.add_argument("--no-progress", action="store_true")
    train.add_argument(
        "--every-combination",
        action="store_true",
        help="all seven phase combinations (PKG is then a folder of packages) with a table of "
        "validation AUCs (auc_by_phases.csv)",
    )
    train.set_defaults(run=_run_train)
    return train


def add_batch(commands) -> argparse.ArgumentParser:
    """`batch`: every case of a manifest, resumable, on Dask."""
    batch = commands.add_parser("batch", help="analyze every case of a manifest on a Dask cluster (resumable)")
    batch.add_argument(
        "manifest",
        metavar="MANIFEST",
        help="CSV: case_id, image columns, segmentation or center_lps (or --seg-model), optional class",
    )
    batch.add_argument("--out", required=True, metavar="DIR", help="cases/<id>/, results.csv, predictions_<task>.csv")
    batch.add_argument("--seg-model", metavar="DIR", help="segment cases that have no segmentation")
    batch.add_argument("--malignancy-model", metavar="PKG")
    batch.add_argument("--aggressiveness-model", metavar="PKG")
    batch.add_argument("--preprocessing", default="authors-code", choices=sorted(PRESETS))
    batch.add_argument("--register", action="store_true")
    batch.add_argument(
        "--labels",
        metavar="MEANINGS",
        default=None,
        help="what the manifest segmentations' values mean, as for prepare (kidney=2+3,tumor=4 or a dataset.json)",
    )
    batch.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes of the local Dask cluster (0: run the cases in this process)",
    )
    batch.add_argument("--scheduler", metavar="ADDRESS", help="use a running Dask scheduler (tcp://host:port)")
    batch.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    batch.set_defaults(run=_run_batch)
    return batch


def add_evaluate(commands) -> argparse.ArgumentParser:
    """`evaluate`: ROC / AUC with DeLong, readers, survival."""
    evaluate = commands.add_parser("evaluate", help="ROC/AUC with DeLong CI, readers, survival -> metrics.json, plots")
    evaluate.add_argument(
        "--predictions",
        required=True,
        metavar="CSV",
        help="columns case_id, label, probability [, time, event, reader_*, score columns]",
    )
    evaluate.add_argument("--out", required=True, metavar="DIR")
    evaluate.add_argument("--threshold", type=float, default=0.5)
    evaluate.add_argument(
        "--compare",
        nargs="*",
        default=[],
        metavar="COLUMN",
        help="other score columns: paired DeLong test against probability",
    )
    evaluate.add_argument("--subgroups", nargs="*", default=[], metavar="COLUMN", help="AUC per level of each column")
    evaluate.add_argument("--covariates", nargs="*", default=[], metavar="COLUMN", help="multivariate Cox covariates")
    evaluate.set_defaults(run=_run_evaluate)
    return evaluate


def add_baseline(commands) -> argparse.ArgumentParser:
    """`baseline`: R.E.N.A.L. nomogram and radiomics comparators."""
    baseline = commands.add_parser(
        "baseline",
        help="the paper's comparators: automated R.E.N.A.L. + refitted nomogram, "
        "radiomics LASSO + random forest -> prediction CSVs for evaluate",
    )
    baseline.add_argument("--manifest", required=True, metavar="CSV", help="cohort with class and split columns")
    baseline.add_argument(
        "--batch",
        metavar="DIR",
        help="a batch run's folder: its segmentations where the manifest "
        "has none, and its predictions as the deep_model column",
    )
    baseline.add_argument("--out", required=True, metavar="DIR")
    baseline.set_defaults(run=_run_baseline)
    return baseline


def add_labels(commands) -> argparse.ArgumentParser:
    """`labels`: pathology records -> the four classes."""
    labels = commands.add_parser("labels", help="pathology -> benign / indolent / aggressive / indeterminate")
    source = labels.add_mutually_exclusive_group(required=True)
    source.add_argument("--kits-json", metavar="FILE", help="KiTS19/21/23 clinical JSON (kits.json)")
    source.add_argument(
        "--pathology-csv",
        metavar="FILE",
        help="columns case_id, subtype, isup_grade, necrosis, sarcomatoid, rhabdoid, t_stage, "
        "venous_invasion, perinephric_invasion",
    )
    labels.add_argument("--out", required=True, metavar="CSV", help="labels: case_id, class, reason, subtype")
    labels.set_defaults(run=_run_labels)
    return labels


def _run_train(args) -> int:
    from RenalMassAILib.cohort.training import TrainingConfig, train
    from RenalMassAILib.torch_device import torch_device

    try:
        config = TrainingConfig(
            architecture=args.architecture,
            tasks=tuple(args.tasks),
            phases=tuple(args.phases),
            preprocessing=args.preprocessing,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            lr_schedule=args.lr_schedule,
            weight_decay=args.weight_decay,
            seed=args.seed,
            bf16=args.bf16,
            augment=not args.no_augment,
            phase_dropout=args.phase_dropout,
            imagenet_weights=args.imagenet_weights,
            model_id=args.id,
            version=args.version,
            demo=args.demo,
            half_precision_weights=args.fp16_weights,
            device=args.device,
        )
        from RenalMassAILib.classify.networks import build_network

        build_network(config.architecture, config.phases, config.tasks)
        torch_device(config.device)  # refused before any case is read
    except ValueError as error:
        raise InputError(str(error)) from None
    if args.every_combination:
        from RenalMassAILib.cohort.combinations import format_table, train_every_combination

        table = train_every_combination(args.manifest, args.out, config, args.cache, progress=not args.no_progress)
        print(format_table(table, config.tasks))
        return 0
    result = train(args.manifest, args.out, config, args.cache, args.checkpoint_dir, progress=not args.no_progress)
    print(
        json.dumps(
            {"package": str(result.package), "best_epoch": result.best_epoch, "validation_auc": result.validation_auc}
        )
    )
    return 0


def _run_batch(args) -> int:
    import csv

    from RenalMassAILib.cohort.batch import PLAN, BatchSettings, run_batch

    if args.labels:
        label_meanings(args)  # a typo is refused before any case runs
    settings = BatchSettings(
        args.seg_model,
        args.malignancy_model,
        args.aggressiveness_model,
        args.preprocessing,
        args.register,
        args.threads,
        args.labels,
    )
    path = run_batch(args.manifest, args.out, settings, args.workers, args.scheduler)
    with open(path, newline="") as file:
        rows = list(csv.DictReader(file))
    plan = json.loads((Path(args.out) / PLAN).read_text())
    print(
        "this run: "
        + ", ".join(f"{kind} {count}" for kind, count in sorted(plan["counts"].items()))
        + f" (reasons per case in {Path(args.out) / PLAN})",
        file=sys.stderr,
    )
    failed = [r["case_id"] for r in rows if r["status"] != "ok"]
    print(
        f"{len(rows) - len(failed)} of {len(rows)} cases analyzed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
        + f"; wrote {path}"
    )
    return 0


def _run_evaluate(args) -> int:
    from RenalMassAILib.cohort.evaluation import evaluate, read_predictions

    frame = read_predictions(args.predictions)
    for column in args.compare:
        if column not in frame.columns:
            raise InputError(f"--compare {column!r}: no such column in {args.predictions!r}")
    metrics = evaluate(frame, args.out, args.threshold, args.compare, args.subgroups, args.covariates)
    low, high = metrics["auc_ci95"]
    extra = f"; C-index {metrics['c_index']:.3f}" if "c_index" in metrics else ""
    print(
        f"n {metrics['n']}: AUC {metrics['auc']:.3f} (95 % CI {low:.3f}-{high:.3f}){extra}; "
        f"wrote {Path(args.out) / 'metrics.json'}"
    )
    return 0


def _run_baseline(args) -> int:
    from RenalMassAILib.cohort.baselines import run_baselines

    summary = run_baselines(args.manifest, args.out, args.batch)
    print(
        f"{summary['usable']} of {summary['cases']} cases scored"
        + (f"; not scored: {', '.join(summary['errors'])}" if summary["errors"] else "")
    )
    for task, result in summary["tasks"].items():
        print(
            f"{task}: "
            + (
                result["skipped"]
                if "skipped" in result
                else f"fitted on {result['fit_cases']}, predictions for {result['test_cases']} test cases in "
                f"{Path(args.out) / result['predictions']}"
            )
        )
    return 0


def _run_labels(args) -> int:
    from RenalMassAILib.cohort.pathology_sources import records_from_csv, records_from_kits_json, write_labels

    records = records_from_kits_json(args.kits_json) if args.kits_json else records_from_csv(args.pathology_csv)
    rows = write_labels(records, args.out)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.pathology_class] = counts.get(row.pathology_class, 0) + 1
    with_problems = [row for row in rows if row.problems]
    if with_problems:
        print(
            f"renalmassai labels: {len(with_problems)} of {len(rows)} records had fields that could not be used "
            "(each is named in the reason column):",
            file=sys.stderr,
        )
        for row in with_problems[:_PROBLEMS_SHOWN]:
            print(
                f"  {row.case_id or '(no case_id)'}: {'; '.join(row.problems)} -> {row.pathology_class}",
                file=sys.stderr,
            )
        if len(with_problems) > _PROBLEMS_SHOWN:
            print(f"  ... and {len(with_problems) - _PROBLEMS_SHOWN} more", file=sys.stderr)
    print(", ".join(f"{name} {count}" for name, count in sorted(counts.items())) + f"; wrote {args.out}")
    return 0
