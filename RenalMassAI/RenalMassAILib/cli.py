"""The `renalmassai` command line: a thin front end over the engine.

Errors in user input end with status 2 and one line on stderr naming the input and the problem
(`--debug` shows the traceback).
"""

import argparse
import json
import math
import re
import sys
import time
from pathlib import Path

from RenalMassAILib import __version__
from RenalMassAILib.errors import InputError
from RenalMassAILib.workers.worker_error import WorkerError

EXIT_INPUT_ERROR = 2
EXIT_WORKER_ERROR = 1


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
    except WorkerError as error:  # one line naming the worker's log, which holds its traceback
        if args.debug:
            raise
        print(f"renalmassai: error: {error}", file=sys.stderr)
        return EXIT_WORKER_ERROR
    except KeyboardInterrupt:
        print("renalmassai: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse reads a value such as `-1.2e-05` as an option, because its test for negative
    numbers (a private pattern, `-3` and `-.5` only) knows no exponent. This parser's pattern takes
    every float notation; the command line has no option that looks like a number, so nothing is lost.
    Subcommand parsers are made of the same class (argparse uses type(parent))."""

    _NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = self._NEGATIVE_NUMBER


def _finite_float(text: str) -> float:
    """A coordinate in any float notation ('-1.2e-05', '-3', '.5'); NaN and infinity are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _add_center_argument(parser, help_text: str) -> None:
    parser.add_argument("--center-lps", type=_finite_float, nargs=3, metavar=("X", "Y", "Z"), help=help_text)


def _add_labels_argument(parser) -> None:
    parser.add_argument(
        "--labels",
        metavar="MEANINGS",
        default=None,
        help="what the segmentation's values mean when they are not kidney 1 / tumor 2 / cyst 3: "
        "name=value items, several values joined with + (kidney=2+3,tumor=4), or an nnU-Net "
        "dataset.json; values not named become background",
    )


def _label_meanings(args):
    from RenalMassAILib.lesion.label_meanings import parse_label_meanings

    text = getattr(args, "labels", None)
    return parse_label_meanings(text) if text else None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="renalmassai", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"renalmassai {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    commands = parser.add_subparsers(metavar="COMMAND")

    prepare = commands.add_parser(
        "prepare", help="read, validate and align a case; find the lesion; write the model inputs"
    )
    _add_case_arguments(prepare)
    prepare.add_argument("--out", required=True, help="output folder: prepare.json, inputs/{N,A,V}.npy, inputs.png")
    prepare.set_defaults(run=_run_prepare)

    segment = commands.add_parser("segment", help="kidney / tumour / cyst segmentation with an nnU-Net v2 model")
    _add_image_arguments(segment, auto=False)
    _add_center_argument(segment, "segment a region around this point (mm, LPS); default: around the kidneys found")
    _add_segmentation_arguments(segment)
    segment.add_argument("--out", required=True, help="output folder: segmentation.nii.gz, segmentation.json")
    segment.set_defaults(run=_run_segment)

    analyze = commands.add_parser(
        "analyze", help="prepare, then malignancy and aggressiveness with Grad-CAM; report.json"
    )
    _add_case_arguments(analyze)
    _add_segmentation_arguments(analyze, required=False)
    analyze.add_argument("--malignancy-model", metavar="PKG", help="model package folder or .zip (default: installed)")
    analyze.add_argument(
        "--aggressiveness-model", metavar="PKG", help="model package folder or .zip (default: installed)"
    )
    analyze.add_argument("--save-inputs", action="store_true", help="also write the exact network inputs")
    analyze.add_argument(
        "--no-screenshots",
        action="store_true",
        help="skip the scene, screenshots/*.png and summary.html (no slicer-core needed)",
    )
    analyze.add_argument("--out", required=True, help="output folder: report.json, explanations/, inputs/")
    _add_dicom_out_arguments(analyze)
    analyze.set_defaults(run=_run_analyze)

    models = commands.add_parser("models", help="installed model packages")
    model_commands = models.add_subparsers(metavar="ACTION", required=True)
    listing = model_commands.add_parser("list", help="installed packages and where they are")
    listing.set_defaults(run=_run_models_list)
    verify = model_commands.add_parser("verify", help="check a package's card and SHA-256")
    verify.add_argument("package")
    verify.set_defaults(run=_run_models_verify)
    install = model_commands.add_parser("import", help="install a package folder or .zip (offline) into the registry")
    install.add_argument("package")
    install.set_defaults(run=_run_models_import)
    authors = model_commands.add_parser("import-authors", help="turn an authors' checkpoint into a package")
    authors.add_argument("checkpoint")
    authors.add_argument("--task", required=True, choices=("malignancy", "aggressiveness"))
    authors.add_argument("--phases", nargs="+", required=True, metavar="PHASE", help="the branches' phases, in order")
    authors.add_argument("--id", default=None)
    authors.add_argument("--version", default="1.0")
    authors.add_argument(
        "--sum-input-channels",
        action="store_true",
        help="a conv1 with several input channels (the authors' Res18 default: 16) saw the same slice "
        "in every channel: sum its filters into one channel (exact for such input)",
    )
    authors.add_argument("--out", required=True)
    authors.set_defaults(run=_run_models_import_authors)

    train = commands.add_parser("train", help="train a classification model package from a manifest CSV")
    train.add_argument(
        "--manifest",
        required=True,
        metavar="CSV",
        help="columns case_id, non_contrast, arterial, venous, segmentation or center_lps, class, split",
    )
    train.add_argument("--out", required=True, metavar="PKG", help="model package folder to write")
    train.add_argument(
        "--architecture", default="shared-backbone", choices=("shared-backbone", "authors-hybrid", "cross-attention")
    )
    train.add_argument(
        "--tasks", nargs="+", default=["malignancy", "aggressiveness"], choices=("malignancy", "aggressiveness")
    )
    train.add_argument("--phases", nargs="+", default=["N", "A", "V"], help="phases of per-branch networks")
    train.add_argument("--preprocessing", default="authors-code", choices=("authors-code", "paper"))
    train.add_argument("--epochs", type=int, default=30)
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--lr", type=float, default=1e-5, help="Adam learning rate (paper: 1e-5, ImageNet-initialised)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--bf16", action="store_true", help="bfloat16 autocast on the CPU (about 2x faster here)")
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

    batch = commands.add_parser("batch", help="analyse every case of a manifest on a Dask cluster (resumable)")
    batch.add_argument(
        "manifest",
        metavar="MANIFEST",
        help="CSV: case_id, image columns, segmentation or center_lps (or --seg-model), optional class",
    )
    batch.add_argument("--out", required=True, metavar="DIR", help="cases/<id>/, results.csv, predictions_<task>.csv")
    batch.add_argument("--seg-model", metavar="DIR", help="segment cases that have no segmentation")
    batch.add_argument("--malignancy-model", metavar="PKG")
    batch.add_argument("--aggressiveness-model", metavar="PKG")
    batch.add_argument("--preprocessing", default="authors-code", choices=("authors-code", "paper"))
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
    phantom.add_argument(
        "--cohort",
        type=int,
        metavar="N",
        help="write N phantoms of mixed subtypes with manifest.csv (train/val/test) instead of one",
    )
    phantom.set_defaults(run=_run_phantom)

    bench = commands.add_parser("bench", help="benchmarks (last line of output: one JSON object)")
    bench.add_argument("what", choices=("prepare", "registration", "refresh", "segmentation", "batch"))
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
    bench.set_defaults(run=_run_bench)
    return parser


def _add_segmentation_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    group = parser.add_argument_group("segmentation (nnU-Net v2)")
    group.add_argument(
        "--seg-model",
        metavar="DIR",
        required=required,
        help="nnU-Net v2 trained-model folder (dataset.json, plans.json, fold_*/); used when no "
        "--segmentation is given. Its checkpoints are pickles: use trusted folders only",
    )
    group.add_argument("--whole-volume", action="store_true", help="segment the whole volume (nnU-Net's default path)")
    group.add_argument(
        "--mirroring",
        choices=("auto", "on", "off"),
        default=None,
        help="test-time mirroring (up to 8x slower): 'auto' (fast path default) mirrors as far as a "
        "budget of 8 network passes per box allows; 'on' is nnU-Net's default (whole-volume default)",
    )
    group.add_argument(
        "--tile-step",
        type=float,
        default=None,
        help="sliding-window step as a fraction of the patch (default: 1.0 on the fast path, "
        "nnU-Net's 0.5 on the whole volume)",
    )
    group.add_argument("--no-bf16", action="store_true", help="no bfloat16 autocast on the CPU")
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    group.add_argument("--threads", type=int, default=None, help="CPU threads for inference")


def _add_dicom_out_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("results as DICOM (see README, 'DICOM results')")
    group.add_argument(
        "--dicom-out",
        metavar="DIR",
        help="write SEG, SR, screenshots as secondary captures and the "
        "PDF summary (also as Encapsulated PDF) into the source study; "
        "for NIfTI / NRRD input the PDF only",
    )
    group.add_argument(
        "--deidentify",
        nargs="?",
        const="ANONYMOUS",
        metavar="PSEUDONYM",
        help="replace patient name and ID (by PSEUDONYM, default ANONYMOUS), empty birth date, "
        "accession, referring physician in the DICOM results and the PDF",
    )
    group.add_argument(
        "--store", metavar="HOST:PORT[:AET]", help="send every DICOM object written to this peer (C-STORE)"
    )
    group.add_argument("--store-aet", default="RENALMASSAI", metavar="AET", help="calling AE title for --store")


def _add_image_arguments(parser: argparse.ArgumentParser, auto: bool = True) -> None:
    images = parser.add_argument_group("images (NIfTI / NRRD file or DICOM series folder)")
    images.add_argument("--arterial", "-A", metavar="PATH")
    images.add_argument("--venous", "-V", metavar="PATH")
    images.add_argument("--non-contrast", "-N", metavar="PATH")
    if auto:
        images.add_argument(
            "--auto",
            nargs="+",
            metavar="PATH",
            help="files or DICOM folders whose phases are detected from names and DICOM tags",
        )
    parser.add_argument("--case-id", default=None)


def _add_case_arguments(parser: argparse.ArgumentParser) -> None:
    _add_image_arguments(parser)
    parser.add_argument("--segmentation", metavar="LABELS", help="label map: kidney 1, tumor 2, cyst 3 (else --labels)")
    _add_labels_argument(parser)
    _add_center_argument(parser, "tumour centre in mm (ITK/LPS frame); overrides the segmentation's centroid")
    parser.add_argument("--preprocessing", default="authors-code", choices=("authors-code", "paper"))
    parser.add_argument(
        "--register",
        action="store_true",
        help="rigidly register N and V onto A (default: the same world point, as the authors' code)",
    )


def _explicit_phases(args) -> dict:
    from RenalMassAILib.case.phase import Phase

    given = ((Phase.ARTERIAL, args.arterial), (Phase.VENOUS, args.venous), (Phase.NON_CONTRAST, args.non_contrast))
    return {phase: path for phase, path in given if path}


def _prepare_from_args(args):
    from RenalMassAILib.case.loading import load_case, load_case_auto
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.prepare import prepare_case

    meanings = _label_meanings(args)  # before the images are read: a typo fails fast
    if meanings is not None and not args.segmentation:
        raise InputError("--labels names the values of a --segmentation label map; give one with --segmentation")
    explicit = _explicit_phases(args)
    if explicit and args.auto:
        raise InputError(
            "give the phases either explicitly (--arterial/--venous/--non-contrast) or with --auto, not both"
        )
    if not explicit and not args.auto:
        raise InputError("no image given: use --arterial/--venous/--non-contrast PATH, or --auto PATH ...")
    case_id = args.case_id or _case_id(next(iter(explicit.values())) if explicit else args.auto[0])
    assignment = None
    if explicit:
        case = load_case(explicit, case_id)
    else:
        case, assignment = load_case_auto(args.auto, case_id)
    segmentation = None
    if args.segmentation:
        label_map = read_label_map(
            args.segmentation, case.reference, reference_what=case.describe(case.reference_phase), meanings=meanings
        )
    elif getattr(args, "seg_model", None):
        label_map, segmentation = _segment(case, args, explicit)
    else:
        label_map = None
    prepared = prepare_case(
        case,
        preset(args.preprocessing),
        label_map,
        args.center_lps,
        "rigid" if args.register else "world",
        assignment,
        segmentation,
    )
    return prepared, label_map


def _segment(case, args, explicit_paths: dict):
    """Runs the worker process on the case; returns the label map (on the reference grid) and the record
    for segmentation.json (model, options, alignment of the phases read, the worker's figures, warnings)."""
    import tempfile

    import SimpleITK as sitk

    from RenalMassAILib.lesion.demo_input_check import demo_model_warning
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.segmentation_inputs import align_for_segmentation, model_images
    from RenalMassAILib.lesion.segmentation_record import segmentation_record
    from RenalMassAILib.workers.segmentation_job import SegmentationJob

    model = open_segmentation_model(args.seg_model, case.phases)
    read = list(dict.fromkeys(model.channel_phases(case.reference_phase)))
    warning = demo_model_warning(model.identity.id, [case.images[p] for p in read]) if model.identity.demo else None
    if warning:
        print(f"renalmassai: {warning}", file=sys.stderr)
    alignments = align_for_segmentation(case, model, args.center_lps)
    images = model_images(case, model, alignments, explicit_paths)
    tile_step = args.tile_step or (0.5 if args.whole_volume else 1.0)
    mirroring = args.mirroring or ("on" if args.whole_volume else "auto")
    options = {
        "fast": not args.whole_volume,
        "mirroring": {"auto": None, "on": True, "off": False}[mirroring],
        "tile_step_size": tile_step,
        "bf16": not args.no_bf16,
        "device": args.device,
        "threads": args.threads,
        "register_phases": False,
    }  # done above: the worker gets the phases aligned onto the reference grid
    with tempfile.TemporaryDirectory(prefix="renalmassai-labels-") as folder:
        output = Path(folder) / "segmentation.nii.gz"
        job = SegmentationJob(images, model.folder, output, args.center_lps, options, args.threads)
        try:
            for message in job.progress():
                steps = f" {message['step']}/{message['steps']}" if message.get("steps") else ""
                print(f"[segmentation] {message['stage']}{steps}: {message['message']}", file=sys.stderr)
        except KeyboardInterrupt:
            job.cancel()
            raise
        label_map = to_label_map(sitk.ReadImage(str(output)), case.reference, what="nnU-Net segmentation")
    record = segmentation_record(
        model, case.reference_phase, case.reference.GetSize(), options, alignments, job.result, warning
    )
    if record["whole_volume_fallback"]:
        print(
            "renalmassai: no kidney found by the coarse localisation: the whole volume was segmented "
            "(give --center-lps to segment around the mass)",
            file=sys.stderr,
        )
    return label_map, record


def _run_segment(args) -> int:
    import SimpleITK as sitk

    from RenalMassAILib.case.loading import load_case

    explicit = _explicit_phases(args)
    if not explicit:
        raise InputError("no image given: use --arterial/--venous/--non-contrast PATH")
    case = load_case(explicit, args.case_id or _case_id(next(iter(explicit.values()))))
    label_map, record = _segment(case, args, explicit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(label_map.image, str(out / "segmentation.nii.gz"), useCompression=True)
    (out / "segmentation.json").write_text(json.dumps(record, indent=2))
    model = record["model"]
    print(
        f"model {model['id']} {model['version']}{' (DEMO)' if model['demo'] else ''}; volumes (mL): "
        f"{record['volumes_ml']}; {record['forward_passes']} forward passes in {record['seconds']} s"
    )
    for warning in record["warnings"]:
        print(warning)
    print(f"wrote {out / 'segmentation.nii.gz'}")
    return 0


def _case_id(path: str) -> str:
    """The folder holding the images names the case (files are often named by phase)."""
    path = Path(path).resolve()
    return path.name if path.is_dir() else path.parent.name


def _run_prepare(args) -> int:
    from RenalMassAILib.prepare import write_prepared
    from RenalMassAILib.present.input_strip import write_input_strip

    start = time.perf_counter()
    prepared, _ = _prepare_from_args(args)
    path = write_prepared(prepared, args.out, time.perf_counter() - start)
    write_input_strip(list(prepared.model_input.patches.values()), Path(args.out) / "inputs.png")
    summary = json.loads(path.read_text())
    lesion = summary["lesion"]
    print(
        f"phases {' '.join(summary['phases_present'])}; centre {lesion['center_lps']} mm LPS "
        f"({lesion['center_source']}); volume {lesion['volume_ml']} mL; diameter {lesion['max_diameter_mm']} mm"
    )
    print(f"wrote {path}")
    return 0


def _run_analyze(args) -> int:
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.present.report import write_report

    peer = _checked_dicom_out_arguments(args)
    start = time.perf_counter()
    _progress("reading and preparing the case")
    prepared, label_map = _prepare_from_args(args)
    _progress("loading the classification models")
    analyzer = Analyzer(prepared, {"malignancy": args.malignancy_model, "aggressiveness": args.aggressiveness_model})
    if args.no_screenshots:
        _progress("predicting and explaining (Grad-CAM)")
        path = write_report(
            prepared, analyzer.run(), args.out, label_map, args.save_inputs, time.perf_counter() - start
        )
    else:
        _progress("building the scene, predicting, explaining (Grad-CAM), rendering screenshots")
        from RenalMassAILib.scene.headless import analyze_and_export

        path = analyze_and_export(prepared, analyzer, label_map, args.out, args.save_inputs, start)
    report = json.loads(path.read_text())
    print(report["notice"])
    for warning in report.get("warnings", []):
        print(warning)
    for task, prediction in report["predictions"].items():
        extra = f", score {prediction['score_0_10']} / 10" if "score_0_10" in prediction else ""
        print(
            f"P({task}) = {prediction['probability']:.3f}{extra} (phases {' '.join(prediction['phases_used'])}; "
            f"model {prediction['model']['id']} {prediction['model']['version']})"
        )
    shots = report.get("screenshots", {})
    print(f"wrote {path}" + (f", {len(shots)} screenshots and summary.html" if shots else ""))
    if getattr(args, "dicom_out", None):
        _write_dicom_out(args, path, prepared, label_map, peer)
    return 0


def _checked_dicom_out_arguments(args):
    """The --store peer (or None); refuses DICOM options without --dicom-out before any work is done."""
    if getattr(args, "dicom_out", None) is None:
        for option, value in (
            ("--deidentify", getattr(args, "deidentify", None)),
            ("--store", getattr(args, "store", None)),
        ):
            if value is not None:
                raise InputError(f"{option} applies to the DICOM results: add --dicom-out DIR")
        return None
    from RenalMassAILib.present.dicom_store import parse_peer

    return parse_peer(args.store) if args.store else None


def _write_dicom_out(args, report_path: Path, prepared, label_map, peer) -> None:
    from RenalMassAILib.present.dicom_results import store_results, write_dicom_results

    _progress("writing the DICOM results")
    manifest = write_dicom_results(report_path, prepared.case.reference, label_map, args.dicom_out, args.deidentify)
    for note in manifest["notes"]:
        print(f"dicom-out: {note}")
    print(f"wrote {len(manifest['objects'])} DICOM objects and {manifest['pdf']} to {args.dicom_out}")
    if peer is not None:
        _progress(f"sending to {peer.label()}")
        stored = store_results(args.dicom_out, peer, args.store_aet)
        print(f"stored {len(stored)} objects on {peer.label()}")


def _progress(stage: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {stage}", file=sys.stderr, flush=True)


def _run_models_list(args) -> int:
    from RenalMassAILib.classify.model_registry import builtin_dir, list_installed, registry_dir

    print(f"registry: {registry_dir()} (RENALMASSAI_MODELS); bundled: {builtin_dir()}")
    for installed in list_installed():
        card = installed.card
        if card is None:
            print(f"  UNUSABLE {installed.path}: {installed.problem}")
            continue
        print(
            f"  {card.label}: tasks {', '.join(card.tasks)}; phases {' '.join(card.phases)}"
            f"{' (any subset)' if card.accepts_phase_subsets else ''}; {card.architecture}; "
            f"preprocessing {card.preprocessing.name}; {installed.path}"
        )
    return 0


def _run_models_verify(args) -> int:
    from RenalMassAILib.classify.model_package import load_package

    package = load_package(args.package)
    print(
        f"OK {package.card.label}: SHA-256 {package.card.sha256} matches; weights load into {package.card.architecture}"
    )
    return 0


def _run_models_import(args) -> int:
    from RenalMassAILib.classify.model_registry import install

    print(f"installed {install(args.package)}")
    return 0


def _run_models_import_authors(args) -> int:
    from RenalMassAILib.classify.authors_import import import_authors_checkpoint

    path = import_authors_checkpoint(
        args.checkpoint, args.task, args.phases, args.out, args.id, args.version, args.sum_input_channels
    )
    print(f"wrote model package {path}")
    return 0


def _run_train(args) -> int:
    from RenalMassAILib.cohort.training import TrainingConfig, train

    try:
        config = TrainingConfig(
            architecture=args.architecture,
            tasks=tuple(args.tasks),
            phases=tuple(args.phases),
            preprocessing=args.preprocessing,
            epochs=args.epochs,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            seed=args.seed,
            bf16=args.bf16,
            augment=not args.no_augment,
            phase_dropout=args.phase_dropout,
            imagenet_weights=args.imagenet_weights,
            model_id=args.id,
            version=args.version,
            demo=args.demo,
            half_precision_weights=args.fp16_weights,
        )
        from RenalMassAILib.classify.networks import build_network

        build_network(config.architecture, config.phases, config.tasks)
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
        _label_meanings(args)  # a typo is refused before any case runs
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
        f"{len(rows) - len(failed)} of {len(rows)} cases analysed"
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


_PROBLEMS_SHOWN = 20


def _run_demo(args) -> int:
    """The bundled phantom case through the whole pipeline: segmentation by the demo nnU-Net model,
    lesion, both tasks with the demo classifier, Grad-CAM, report."""
    from RenalMassAILib.resources import demo_case_dir, demo_segmentation_model

    folder = demo_case_dir()
    print(f"demo case: {folder} (synthetic phantom, not patient data)")
    demo_args = argparse.Namespace(
        arterial=str(folder / "arterial.nii.gz"),
        venous=str(folder / "venous.nii.gz"),
        non_contrast=str(folder / "non-contrast.nii.gz"),
        auto=None,
        segmentation=None,
        seg_model=str(demo_segmentation_model()),
        whole_volume=False,
        mirroring=None,
        tile_step=None,
        no_bf16=False,
        device="auto",
        threads=None,
        center_lps=None,
        preprocessing=args.preprocessing,
        register=True,
        case_id="demo",
        out=args.out,
        malignancy_model=None,
        aggressiveness_model=None,
        save_inputs=True,
        no_screenshots=False,
    )
    return _run_analyze(demo_args)


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
    from RenalMassAILib.bench import batch_speed, prepare_speed, refresh_speed, registration_speed, segmentation_speed

    run = {
        "prepare": prepare_speed.run,
        "registration": registration_speed.run,
        "refresh": refresh_speed.run,
        "segmentation": segmentation_speed.run,
        "batch": batch_speed.run,
    }[args.what]
    options = {"size": tuple(args.size) if args.size else None, "repeats": args.repeats}
    result = run(**{k: v for k, v in options.items() if v is not None}, log=None if args.json else print)
    print(json.dumps(result))
    return 0
