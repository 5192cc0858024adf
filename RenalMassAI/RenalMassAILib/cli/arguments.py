"""Arguments shared by several subcommands, and how they are read."""

import argparse
import math
import sys
import time
from pathlib import Path

from RenalMassAILib.classify.preprocessing import PRESETS


def finite_float(text: str) -> float:
    """A coordinate in any float notation ('-1.2e-05', '-3', '.5'); NaN and infinity are refused."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def add_center_argument(parser, help_text: str) -> None:
    parser.add_argument("--center-lps", type=finite_float, nargs=3, metavar=("X", "Y", "Z"), help=help_text)


def add_labels_argument(parser) -> None:
    parser.add_argument(
        "--labels",
        metavar="MEANINGS",
        default=None,
        help="what the segmentation's values mean when they are not kidney 1 / tumor 2 / cyst 3: "
        "name=value items, several values joined with + (kidney=2+3,tumor=4), or an nnU-Net "
        "dataset.json; values not named become background",
    )


def label_meanings(args):
    """The parsed --labels text, or None without one."""
    from RenalMassAILib.lesion.label_meanings import parse_label_meanings

    text = getattr(args, "labels", None)
    return parse_label_meanings(text) if text else None


def add_image_arguments(parser: argparse.ArgumentParser, auto: bool = True) -> None:
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


def add_case_arguments(parser: argparse.ArgumentParser) -> None:
    add_image_arguments(parser)
    parser.add_argument("--segmentation", metavar="LABELS", help="label map: kidney 1, tumor 2, cyst 3 (else --labels)")
    add_labels_argument(parser)
    add_center_argument(parser, "tumor center in mm (ITK/LPS frame); overrides the segmentation's centroid")
    parser.add_argument("--preprocessing", default="authors-code", choices=sorted(PRESETS))
    parser.add_argument(
        "--register",
        action="store_true",
        help="rigidly register N and V onto A (default: the same world point, as the authors' code)",
    )


def add_segmentation_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
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
    group.add_argument(
        "--no-bf16", action="store_true", help="float32 even on a CPU with native bfloat16 (others always use float32)"
    )
    group.add_argument(
        "--backend",
        choices=("auto", "torch", "openvino", "onnxruntime"),
        default="auto",
        help="what runs the network's passes: 'auto' is OpenVINO on a CPU where it is installed (1.7x "
        "PyTorch float32 there), PyTorch on CUDA; the network is exported to ONNX once per checkpoint",
    )
    group.add_argument(
        "--int8",
        action="store_true",
        help="run the network quantised to INT8 in OpenVINO (CPU only; quantised with NNCF once per "
        "checkpoint, calibrated on the bundled demo case, cached beside the ONNX export; the layers left "
        "unquantised follow --no-bf16)",
    )
    group.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    group.add_argument("--threads", type=int, default=None, help="CPU threads for inference")


def explicit_phases(args) -> dict:
    """Phase -> path of the phases given one by one (--arterial / --venous / --non-contrast)."""
    from RenalMassAILib.case.phase import Phase

    given = ((Phase.ARTERIAL, args.arterial), (Phase.VENOUS, args.venous), (Phase.NON_CONTRAST, args.non_contrast))
    return {phase: path for phase, path in given if path}


def case_id_of(path: str) -> str:
    """The folder holding the images names the case (files are often named by phase)."""
    path = Path(path).resolve()
    return path.name if path.is_dir() else path.parent.name


def show_stage(stage: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {stage}", file=sys.stderr, flush=True)
