"""`--dicom-out DIR`: the results as DICOM objects in the source study, and the PDF summary.

For a case whose reference phase came from a DICOM series: a SEG of the label map, a TID 1500 SR,
secondary captures of the screenshots and the PDF as Encapsulated PDF, each a new series in the
source study (its Study Instance UID, patient and study attributes). For images read from NIfTI /
NRRD there is no source study: only summary.pdf is written, and dicom_results.json says why.
"""

import dataclasses
import json
from pathlib import Path

import highdicom as hd
import pydicom
import SimpleITK as sitk

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.present.dicom_capture import build_capture, capture_order
from RenalMassAILib.present.dicom_identity import DEIDENTIFICATION_DETAILS, Identity, deidentified_copies, identity_of
from RenalMassAILib.present.dicom_pdf import build_encapsulated_pdf
from RenalMassAILib.present.dicom_seg import build_segmentation, present_segments, unnamed_label_values
from RenalMassAILib.present.dicom_source import SourceSeries, read_source_series, reference_source
from RenalMassAILib.present.dicom_sr import build_structured_report
from RenalMassAILib.present.dicom_store import DEFAULT_CALLING_AET, Peer, store_files
from RenalMassAILib.present.pdf_summary import write_pdf_summary

MANIFEST = "dicom_results.json"
# Series numbers of the new series (the study's own series usually number below 100).
SERIES_NUMBERS = {"SEG": 9001, "SR": 9002, "SC": 9003, "DOC": 9004}


def write_dicom_results(
    report_path,
    reference: sitk.Image,
    label_map: LabelMap | None,
    out_dir,
    pseudonym: str | None = None,
    source: SourceSeries | None = None,
) -> dict:
    """Writes the objects and dicom_results.json into out_dir; returns the manifest.

    `reference`: the reference phase image (the label map is on its grid; its slices are matched to
    the source images). `pseudonym`: de-identify (patient name and ID replaced by it; see
    dicom_identity). `source`: the reference phase's DICOM series where the caller knows its files
    (Slicer's DICOM database: `read_source_files`); otherwise it is found from report.json's `sources`."""
    report_path = Path(report_path)
    report = json.loads(report_path.read_text())
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    screenshots = {name: report_path.parent / file for name, file in (report.get("screenshots") or {}).items()}
    for name, path in screenshots.items():
        if not path.is_file():
            raise InputError(
                f"--dicom-out: screenshot {name!r} listed in {str(report_path)!r} is missing ({path}); "
                "run analyze again into a fresh --out folder"
            )
    found = reference_source(report) if source is None else (source.folder, None)
    if found is None:
        pdf = write_pdf_summary(report, out / "summary.pdf", None, screenshots.get("axial"))
        notes = [
            "the reference phase was not read from a DICOM series: no source study to reference, so only "
            "the PDF was written"
        ]
        if pseudonym is not None:
            notes.append("--deidentify: the images carry no patient data, the PDF shows none")
        return _write_manifest(
            out, {"source_study": None, "pdf": pdf.name, "objects": [], "deidentified": False, "notes": notes}
        )
    if source is None:
        source = read_source_series(*found, reference)
    identity = identity_of(source.first, pseudonym)
    if identity.deidentified:
        source = dataclasses.replace(source, slices=tuple(deidentified_copies(source.slices, identity)))
    pdf = write_pdf_summary(report, out / "summary.pdf", identity, screenshots.get("axial"))
    objects, notes = _write_objects(report, source, identity, label_map, screenshots, pdf, out)
    return _write_manifest(
        out,
        {
            "source_study": {
                "study_instance_uid": source.study_uid,
                "reference_series_uid": source.series_uid,
                "frame_of_reference_uid": str(source.first.get("FrameOfReferenceUID", "")),
                "folder": source.folder,
            },
            "pdf": pdf.name,
            "objects": objects,
            "deidentified": identity.deidentified,
            **({"deidentification": DEIDENTIFICATION_DETAILS} if identity.deidentified else {}),
            "notes": notes,
        },
    )


def store_results(out_dir, peer: Peer, calling_aet: str = DEFAULT_CALLING_AET) -> list[dict]:
    """Sends every object dicom_results.json lists to the peer and records the outcome there."""
    out = Path(out_dir)
    manifest = json.loads((out / MANIFEST).read_text())
    if not manifest["objects"]:
        raise InputError(
            f"--store {peer.label()}: no DICOM objects to send (the case has no source DICOM study; "
            "only the PDF was written)"
        )
    records = store_files([out / entry["file"] for entry in manifest["objects"]], peer, calling_aet)
    _write_manifest(out, manifest | {"stored": {"peer": peer.label(), "calling_aet": calling_aet, "files": records}})
    return records


def _write_objects(
    report: dict,
    source: SourceSeries,
    identity: Identity,
    label_map: LabelMap | None,
    screenshots: dict[str, Path],
    pdf: Path,
    out: Path,
) -> tuple[list[dict], list[str]]:
    objects, notes = [], []
    tracking_uids = {name: hd.UID() for name in ("kidney", "tumor", "cyst")}
    segmentation, tumor_segment = None, None
    names = present_segments(label_map) if label_map is not None else []
    if label_map is not None and (unknown := unnamed_label_values(label_map)):
        notes.append(f"label values {unknown} have no kidney / tumor / cyst meaning: not in the SEG")
    if "tumor" in names:
        segmentation = build_segmentation(
            source, label_map, report, hd.UID(), hd.UID(), SERIES_NUMBERS["SEG"], tracking_uids
        )
        tumor_segment = names.index("tumor") + 1
        if segmentation.SegmentSequence[0].SegmentAlgorithmType == "MANUAL":
            notes.append("segments recorded as MANUAL: the label map was given as a file (its origin is unknown)")
        objects.append(_save(segmentation, identity, out / "segmentation.dcm"))
    else:
        notes.append("no tumor in the label map (or no label map): no SEG written; the SR references the images")
    report_object = build_structured_report(
        source, report, segmentation, tumor_segment, tracking_uids["tumor"], hd.UID(), hd.UID(), SERIES_NUMBERS["SR"]
    )
    objects.append(_save(report_object, identity, out / "report_sr.dcm"))
    series_uid = hd.UID()
    for number, view in enumerate(capture_order(screenshots), start=1):
        capture = build_capture(source, screenshots[view], view, series_uid, hd.UID(), SERIES_NUMBERS["SC"], number)
        objects.append(_save(capture, identity, out / f"screenshot_{view}.dcm") | {"view": view})
    if not screenshots:
        notes.append("no screenshots (--no-screenshots): no secondary captures written")
    encapsulated = build_encapsulated_pdf(pdf, source, identity, hd.UID(), hd.UID(), SERIES_NUMBERS["DOC"])
    objects.append(_save(encapsulated, identity, out / "summary_pdf.dcm"))
    return objects, notes


def _save(dataset: pydicom.Dataset, identity: Identity, path: Path) -> dict:
    identity.apply_to(dataset)  # exactly the source's patient / study attributes (or the de-identified ones)
    dataset.save_as(path, enforce_file_format=True)
    return {
        "file": path.name,
        "modality": str(dataset.Modality),
        "sop_class_uid": str(dataset.SOPClassUID),
        "sop_instance_uid": str(dataset.SOPInstanceUID),
        "series_instance_uid": str(dataset.SeriesInstanceUID),
    }


def _write_manifest(out: Path, manifest: dict) -> dict:
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest
