"""`serve`: the web viewer (trame-slicer) for readers in a browser."""

import argparse
import shutil
import tempfile
from pathlib import Path

from RenalMassAILib.cli.arguments import add_image_arguments, case_id_of, explicit_phases
from RenalMassAILib.errors import InputError


def add_serve(commands) -> argparse.ArgumentParser:
    serve = commands.add_parser(
        "serve", help="review cases in a web browser (one private session per page; binds to 127.0.0.1 by default)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this machine only)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--cases", metavar="FOLDER", help="a folder of case folders (DICOM series or named images)")
    serve.add_argument("--case", metavar="FOLDER", help="one case folder")
    add_image_arguments(serve, auto=False)
    serve.add_argument("--segmentation", metavar="LABELS", help="label map of the case: kidney 1, tumor 2, cyst 3")
    serve.add_argument("--preprocessing", default=None, help="default: the classifier's own preset")
    serve.add_argument("--malignancy-model", metavar="PKG")
    serve.add_argument("--aggressiveness-model", metavar="PKG")
    serve.add_argument("--seg-model", metavar="FOLDER", help="nnU-Net v2 model folder (default: the demo model)")
    serve.set_defaults(run=_run_serve)
    return serve


def _run_serve(args) -> int:
    from RenalMassAILib.web.case_folder import case_names
    from RenalMassAILib.web.launcher import serve

    staged = None
    try:
        cases, staged = _cases_folder(args)
        case_names(cases)  # an unusable folder is refused here, not in every session
        options = []
        for flag in ("preprocessing", "malignancy_model", "aggressiveness_model", "seg_model"):
            if getattr(args, flag):
                options += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        serve(cases, args.host, args.port, options)
    finally:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return 0


def _cases_folder(args) -> tuple[Path, Path | None]:
    """(the folder to serve, a temporary folder to remove afterwards or None). One case given by its
    folder or its files is served from a temporary folder of links to it (nothing is copied)."""
    explicit = explicit_phases(args)
    given = [bool(args.cases), bool(args.case), bool(explicit)]
    if sum(given) != 1:
        raise InputError("give exactly one of --cases FOLDER, --case FOLDER or the case's images (--arterial ...)")
    if args.segmentation and not explicit:
        raise InputError("--segmentation goes with the case's images (--arterial ...); a case folder holds its own")
    if args.cases:
        return Path(args.cases).resolve(), None
    staged = Path(tempfile.mkdtemp(prefix="renalmassai-serve-"))
    if args.case:
        folder = Path(args.case).resolve()
        if not folder.is_dir():
            raise InputError(f"--case {args.case!r} is not a folder")
        (staged / folder.name).symlink_to(folder, target_is_directory=True)
        return staged, staged
    case = staged / (args.case_id or case_id_of(next(iter(explicit.values()))))
    case.mkdir()
    for phase, path in explicit.items():
        source = Path(path).resolve()
        if not source.is_file():
            raise InputError(f"{phase.long_name} image {path!r}: give a file here (a DICOM study: --case FOLDER)")
        (case / f"{phase.long_name}{_suffix(source)}").symlink_to(source)
    if args.segmentation:
        source = Path(args.segmentation).resolve()
        (case / f"segmentation{_suffix(source)}").symlink_to(source)
    return staged, staged


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else path.suffix.lower()
