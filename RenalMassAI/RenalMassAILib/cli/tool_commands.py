"""Tools: `phantom` (synthetic cases) and `bench` (benchmarks)."""

import argparse
import json
import sys
from pathlib import Path

from RenalMassAILib.errors import InputError


def add_phantom(commands) -> argparse.ArgumentParser:
    """`phantom`: a synthetic case, or a cohort with its manifest."""
    phantom = commands.add_parser("phantom", help="write a synthetic multi-phase renal CT case (NIfTI)")
    phantom.add_argument("--out", required=True)
    phantom.add_argument("--subtype", default="ccRCC")
    phantom.add_argument("--diameter-mm", type=float, default=40.0)
    phantom.add_argument("--grade", type=int, default=2)
    phantom.add_argument("--necrosis", action="store_true")
    phantom.add_argument("--size", type=int, nargs=3, default=(160, 160, 64), metavar=("NX", "NY", "NZ"))
    phantom.add_argument("--spacing", type=float, nargs=3, default=(2.0, 2.0, 3.0), metavar=("SX", "SY", "SZ"))
    phantom.add_argument("--misregistration-mm", type=float, default=0.0)
    phantom.add_argument("--seed", type=int, default=0)
    phantom.add_argument(
        "--cohort",
        type=int,
        metavar="N",
        help="write N phantoms of mixed subtypes with manifest.csv (train/val/test) instead of one",
    )
    phantom.set_defaults(run=_run_phantom)
    return phantom


def add_bench(commands) -> argparse.ArgumentParser:
    """`bench`: the benchmarks behind the README's tables."""
    bench = commands.add_parser("bench", help="benchmarks (last line of output: one JSON object)")
    bench.add_argument("what", choices=("prepare", "registration", "refresh", "segmentation", "batch", "web"))
    bench.add_argument("--json", action="store_true", help="print only the JSON result")
    bench.add_argument(
        "--size",
        type=int,
        nargs=3,
        default=None,
        metavar=("NX", "NY", "NZ"),
        help="volume size (each benchmark has its own default)",
    )
    bench.add_argument("--repeats", type=int, default=None)
    bench.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default=None,
        help="segmentation only: where the segmentations run (default auto: the CUDA GPU where there is one)",
    )
    bench.add_argument(
        "--only",
        action="append",
        choices=("paths", "passes", "agreement"),
        default=None,
        help="segmentation only: run this part (repeatable; default: all three)",
    )
    bench.set_defaults(run=_run_bench)
    return bench


def _run_phantom(args) -> int:
    from RenalMassAILib.phantom import PhantomSpec, make_phantom

    if args.cohort:
        from RenalMassAILib.cohort.phantom_cohort import write_phantom_cohort

        manifest = write_phantom_cohort(
            args.out,
            args.cohort,
            seed=args.seed,
            size=tuple(args.size),
            spacing=tuple(args.spacing),
            log=lambda text: print(text, file=sys.stderr),
        )
        print(f"wrote {manifest}")
        return 0
    try:
        spec = PhantomSpec(
            subtype=args.subtype,
            diameter_mm=args.diameter_mm,
            grade=args.grade,
            necrosis=args.necrosis,
            size=tuple(args.size),
            spacing=tuple(args.spacing),
            misregistration_mm=args.misregistration_mm,
            seed=args.seed,
        )
    except ValueError as error:
        raise InputError(str(error)) from None
    phantom = make_phantom(spec)
    paths = phantom.write(args.out)
    truth = {
        "pathology": phantom.pathology,
        "subtype": spec.subtype,
        "grade": spec.grade,
        "necrosis": spec.necrosis,
        "lesion_center_lps": phantom.lesion_center_lps,
        "lesion_side": phantom.lesion_side,
        "seed": spec.seed,
    }
    (Path(args.out) / "truth.json").write_text(json.dumps(truth, indent=2))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _run_bench(args) -> int:
    from RenalMassAILib.bench import (
        batch_speed,
        machine,
        prepare_speed,
        refresh_speed,
        registration_speed,
        segmentation_speed,
        web_viewer_speed,
    )

    run = {
        "prepare": prepare_speed.run,
        "registration": registration_speed.run,
        "refresh": refresh_speed.run,
        "segmentation": segmentation_speed.run,
        "batch": batch_speed.run,
        "web": web_viewer_speed.run,
    }[args.what]
    if args.what != "segmentation" and (args.device or args.only):
        raise InputError(f"bench {args.what}: --device and --only apply to `bench segmentation` only")
    options = {
        "size": tuple(args.size) if args.size else None,
        "repeats": args.repeats,
        "device": args.device,
        "parts": tuple(args.only) if args.only else None,
    }
    result = run(**{k: v for k, v in options.items() if v is not None}, log=None if args.json else print)
    print(json.dumps({**result, "machine": machine.machine_record()}))
    return 0
