"""The case subcommands: prepare, segment, analyze and demo."""

import argparse
import functools
import json
import sys
import time
from pathlib import Path

from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.cli.arguments import (
    add_case_arguments,
    add_center_argument,
    add_image_arguments,
    add_segmentation_arguments,
    case_id_of,
    explicit_phases,
    label_meanings,
    show_stage,
)
from RenalMassAILib.cli.dicom_out import add_dicom_out_arguments, checked_dicom_out_arguments, write_dicom_out
from RenalMassAILib.errors import InputError


def add_prepare(commands) -> argparse.ArgumentParser:
    """`prepare`: read, validate and align a case; the model inputs."""
    prepare = commands.add_parser(
        "prepare", help="read, validate and align a case; find the lesion; write the model inputs"
    )
    add_case_arguments(prepare)
    prepare.add_argument("--out", required=True, help="output folder: prepare.json, inputs/{N,A,V}.npy, inputs.png")
    prepare.set_defaults(run=_run_prepare)
    return prepare


def add_segment(commands) -> argparse.ArgumentParser:
    """`segment`: nnU-Net v2 segmentation into a label map."""
    segment = commands.add_parser("segment", help="kidney / tumor / cyst segmentation with an nnU-Net v2 model")
    add_image_arguments(segment, auto=False)
    add_center_argument(segment, "segment a region around this point (mm, LPS); default: around the kidneys found")
    add_segmentation_arguments(segment)
    segment.add_argument("--out", required=True, help="output folder: segmentation.nii.gz, segmentation.json")
    segment.set_defaults(run=_run_segment)
    return segment


def add_analyze(commands) -> argparse.ArgumentParser:
    """`analyze`: prepare, both tasks with Grad-CAM, report, screenshots."""
    analyze = commands.add_parser(
        "analyze", help="prepare, then malignancy and aggressiveness with Grad-CAM; report.json"
    )
    add_case_arguments(analyze)
    add_segmentation_arguments(analyze, required=False)
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
    add_dicom_out_arguments(analyze)
    analyze.set_defaults(run=_run_analyze)
    return analyze


def add_demo(commands, analyze: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`demo`: `analyze` on the bundled demo case, its arguments parsed by the analyze parser itself."""
    demo = commands.add_parser("demo", help="run the pipeline on the bundled demo case (synthetic phantom)")
    demo.add_argument("--out", required=True, help="output folder")
    demo.add_argument(
        "--preprocessing", default=None, choices=sorted(PRESETS), help="default: the bundled classifier's own"
    )
    demo.set_defaults(run=functools.partial(_run_demo, analyze))
    return demo


def _prepare_from_args(args):
    from RenalMassAILib.case.loading import load_case, load_case_auto
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import read_label_map
    from RenalMassAILib.lesion.segmentation_record import record_beside
    from RenalMassAILib.prepare import prepare_case

    meanings = label_meanings(args)  # before the images are read: a typo fails fast
    if meanings is not None and not args.segmentation:
        raise InputError("--labels names the values of a --segmentation label map; give one with --segmentation")
    explicit = explicit_phases(args)
    if explicit and args.auto:
        raise InputError(
            "give the phases either explicitly (--arterial/--venous/--non-contrast) or with --auto, not both"
        )
    if not explicit and not args.auto:
        raise InputError("no image given: use --arterial/--venous/--non-contrast PATH, or --auto PATH ...")
    case_id = args.case_id or case_id_of(next(iter(explicit.values())) if explicit else args.auto[0])
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
        segmentation = record_beside(args.segmentation)  # written by `renalmassai segment`: keeps its DEMO mark
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
        "backend": args.backend,
        "int8": args.int8,
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
        f"phases {' '.join(summary['phases_present'])}; center {lesion['center_lps']} mm LPS "
        f"({lesion['center_source']}); volume {lesion['volume_ml']} mL; diameter {lesion['max_diameter_mm']} mm"
    )
    print(f"wrote {path}")
    return 0


def _run_segment(args) -> int:
    import SimpleITK as sitk

    from RenalMassAILib.case.loading import load_case
    from RenalMassAILib.lesion.segmentation_record import run_summary

    explicit = explicit_phases(args)
    if not explicit:
        raise InputError("no image given: use --arterial/--venous/--non-contrast PATH")
    case = load_case(explicit, args.case_id or case_id_of(next(iter(explicit.values()))))
    label_map, record = _segment(case, args, explicit)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(label_map.image, str(out / "segmentation.nii.gz"), useCompression=True)
    (out / "segmentation.json").write_text(json.dumps(record, indent=2))
    print(f"{run_summary(record)}; volumes (mL): {record['volumes_ml']}")
    for warning in record["warnings"]:
        print(warning)
    print(f"wrote {out / 'segmentation.nii.gz'}")
    return 0


def _run_analyze(args) -> int:
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.present.report import write_report

    peer = checked_dicom_out_arguments(args)
    start = time.perf_counter()
    show_stage("reading and preparing the case")
    prepared, label_map = _prepare_from_args(args)
    show_stage("loading the classification models")
    analyzer = Analyzer(prepared, {"malignancy": args.malignancy_model, "aggressiveness": args.aggressiveness_model})
    if args.no_screenshots:
        show_stage("predicting and explaining (Grad-CAM)")
        path = write_report(
            prepared, analyzer.run(), args.out, label_map, args.save_inputs, time.perf_counter() - start
        )
    else:
        show_stage("building the scene, predicting, explaining (Grad-CAM), rendering screenshots")
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
        write_dicom_out(args, path, prepared, label_map, peer)
    return 0


def _run_demo(analyze: argparse.ArgumentParser, args) -> int:
    """The bundled phantom case through the whole pipeline: segmentation by the demo nnU-Net model,
    registration, lesion, both tasks with the demo classifier, Grad-CAM, report. The arguments are
    those a user would give `analyze`, read by its own parser (so they cannot drift from it)."""
    from RenalMassAILib.classify.model_package import read_card
    from RenalMassAILib.classify.model_registry import DEMO_CLASSIFIER, builtin_dir
    from RenalMassAILib.resources import demo_case_dir, demo_segmentation_model

    folder = demo_case_dir()
    classifier = read_card(builtin_dir() / DEMO_CLASSIFIER)
    print(f"demo case: {folder} (synthetic phantom, not patient data)")
    demo_args = analyze.parse_args([
        "--arterial", str(folder / "arterial.nii.gz"),
        "--venous", str(folder / "venous.nii.gz"),
        "--non-contrast", str(folder / "non-contrast.nii.gz"),
        "--seg-model", str(demo_segmentation_model()),
        "--register", "--case-id", "demo", "--save-inputs",
        "--preprocessing", args.preprocessing or classifier.preprocessing.name,
        "--out", args.out,
    ])  # fmt: skip
    demo_args.debug = args.debug
    return _run_analyze(demo_args)
