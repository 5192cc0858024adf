"""The `renalmassai` command line: a thin front end over the engine.

Errors in user input end with status 2 and one line on stderr naming the input and the problem
(`--debug` shows the traceback).
"""

import argparse
import json
import sys
import time
from pathlib import Path

from RenalMassAILib import __version__
from RenalMassAILib.errors import InputError

EXIT_INPUT_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return EXIT_INPUT_ERROR
    try:
        return args.run(args) or 0
    except InputError as error:
        if args.debug:
            raise
        print(f"renalmassai: error: {error}", file=sys.stderr)
        return EXIT_INPUT_ERROR
    except KeyboardInterrupt:
        print("renalmassai: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="renalmassai", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"renalmassai {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(metavar="COMMAND")

    prepare = commands.add_parser("prepare", help="read, validate and align a case; find the lesion; write the model inputs")
    _add_case_arguments(prepare)
    prepare.add_argument("--out", required=True, help="output folder: prepare.json, inputs/{N,A,V}.npy, inputs.png")
    prepare.set_defaults(run=_run_prepare)

    demo = commands.add_parser("demo", help="run the pipeline on the bundled demo case (synthetic phantom)")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument("--preprocessing", default="authors-code", choices=("authors-code", "paper"))
    demo.set_defaults(run=_run_demo)

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
    phantom.set_defaults(run=_run_phantom)

    bench = commands.add_parser("bench", help="benchmarks (last line of output: one JSON object)")
    bench.add_argument("what", choices=("prepare", "registration"))
    bench.add_argument("--json", action="store_true", help="print only the JSON result")
    bench.add_argument("--size", type=int, nargs=3, default=(512, 512, 300), metavar=("NX", "NY", "NZ"))
    bench.add_argument("--repeats", type=int, default=3)
    bench.set_defaults(run=_run_bench)
    return parser


def _add_case_arguments(parser: argparse.ArgumentParser) -> None:
    images = parser.add_argument_group("images (NIfTI / NRRD file or DICOM series folder)")
    images.add_argument("--arterial", "-A", metavar="PATH")
    images.add_argument("--venous", "-V", metavar="PATH")
    images.add_argument("--non-contrast", "-N", metavar="PATH")
    images.add_argument("--auto", nargs="+", metavar="PATH",
                        help="files or DICOM folders whose phases are detected from names and DICOM tags")
    parser.add_argument("--segmentation", metavar="LABELS", help="label map: kidney 1, tumor 2, cyst 3")
    parser.add_argument("--center-lps", type=float, nargs=3, metavar=("X", "Y", "Z"),
                        help="tumour centre in mm (ITK/LPS frame); overrides the segmentation's centroid")
    parser.add_argument("--preprocessing", default="authors-code", choices=("authors-code", "paper"))
    parser.add_argument("--register", action="store_true",
                        help="rigidly register N and V onto A (default: the same world point, as the authors' code)")
    parser.add_argument("--case-id", default=None)


def _prepare_from_args(args):
    from RenalMassAILib.case.phase import Phase
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.prepare import load_case, load_case_auto, prepare_case

    explicit = {phase: path for phase, path in ((Phase.ARTERIAL, args.arterial), (Phase.VENOUS, args.venous),
                                                (Phase.NON_CONTRAST, args.non_contrast)) if path}
    if explicit and args.auto:
        raise InputError("give the phases either explicitly (--arterial/--venous/--non-contrast) or with --auto, not both")
    if not explicit and not args.auto:
        raise InputError("no image given: use --arterial/--venous/--non-contrast PATH, or --auto PATH ...")
    case_id = args.case_id or _case_id(next(iter(explicit.values())) if explicit else args.auto[0])
    assignment = None
    if explicit:
        case = load_case(explicit, case_id)
    else:
        case, assignment = load_case_auto(args.auto, case_id)
    label_map = (read_label_map(args.segmentation, case.reference, reference_what=case.describe(case.reference_phase))
                 if args.segmentation else None)
    return prepare_case(case, preset(args.preprocessing), label_map, args.center_lps,
                        "rigid" if args.register else "world", assignment)


def _case_id(path: str) -> str:
    """The folder holding the images names the case (files are often named by phase)."""
    path = Path(path).resolve()
    return path.name if path.is_dir() else path.parent.name


def _run_prepare(args) -> int:
    from RenalMassAILib.prepare import write_prepared
    from RenalMassAILib.present.input_strip import write_input_strip

    start = time.perf_counter()
    prepared = _prepare_from_args(args)
    path = write_prepared(prepared, args.out, time.perf_counter() - start)
    write_input_strip(list(prepared.model_input.patches.values()), Path(args.out) / "inputs.png")
    summary = json.loads(path.read_text())
    lesion = summary["lesion"]
    print(f"phases {' '.join(summary['phases_present'])}; centre {lesion['center_lps']} mm LPS "
          f"({lesion['center_source']}); volume {lesion['volume_ml']} mL; diameter {lesion['max_diameter_mm']} mm")
    print(f"wrote {path}")
    return 0


def _run_demo(args) -> int:
    from RenalMassAILib.resources import demo_case_dir

    folder = demo_case_dir()
    print(f"demo case: {folder} (synthetic phantom, not patient data)")
    demo_args = argparse.Namespace(
        arterial=str(folder / "arterial.nii.gz"), venous=str(folder / "venous.nii.gz"),
        non_contrast=str(folder / "non-contrast.nii.gz"), auto=None, segmentation=str(folder / "segmentation.nii.gz"),
        center_lps=None, preprocessing=args.preprocessing, register=True, case_id="demo", out=args.out)
    return _run_prepare(demo_args)


def _run_phantom(args) -> int:
    from RenalMassAILib.phantom import PhantomSpec, make_phantom

    try:
        spec = PhantomSpec(subtype=args.subtype, diameter_mm=args.diameter_mm, grade=args.grade, necrosis=args.necrosis,
                           size=tuple(args.size), spacing=tuple(args.spacing),
                           misregistration_mm=args.misregistration_mm, seed=args.seed)
    except ValueError as error:
        raise InputError(str(error)) from None
    phantom = make_phantom(spec)
    paths = phantom.write(args.out)
    truth = {"pathology": phantom.pathology, "subtype": spec.subtype, "grade": spec.grade, "necrosis": spec.necrosis,
             "lesion_center_lps": phantom.lesion_center_lps, "lesion_side": phantom.lesion_side, "seed": spec.seed}
    (Path(args.out) / "truth.json").write_text(json.dumps(truth, indent=2))
    print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def _run_bench(args) -> int:
    from RenalMassAILib.bench import prepare_speed, registration_speed

    run = {"prepare": prepare_speed.run, "registration": registration_speed.run}[args.what]
    result = run(size=tuple(args.size), repeats=args.repeats, log=None if args.json else print)
    print(json.dumps(result))
    return 0
