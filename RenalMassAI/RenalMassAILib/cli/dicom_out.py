"""`--dicom-out`: the DICOM results of `analyze`, and sending them (C-STORE)."""

import argparse
from pathlib import Path

from RenalMassAILib.cli.arguments import show_stage
from RenalMassAILib.errors import InputError


def add_dicom_out_arguments(parser: argparse.ArgumentParser) -> None:
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


def checked_dicom_out_arguments(args):
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


def write_dicom_out(args, report_path: Path, prepared, label_map, peer) -> None:
    from RenalMassAILib.present.dicom_results import store_results, write_dicom_results

    show_stage("writing the DICOM results")
    manifest = write_dicom_results(report_path, prepared.case.reference, label_map, args.dicom_out, args.deidentify)
    for note in manifest["notes"]:
        print(f"dicom-out: {note}")
    print(f"wrote {len(manifest['objects'])} DICOM objects and {manifest['pdf']} to {args.dicom_out}")
    if peer is not None:
        show_stage(f"sending to {peer.label()}")
        stored = store_results(args.dicom_out, peer, args.store_aet)
        print(f"stored {len(stored)} objects on {peer.label()}")
