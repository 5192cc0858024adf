"""`renalmassai analyze --dicom-out`: DICOM SEG, TID 1500 SR, secondary captures and the PDF summary
(also as Encapsulated PDF) in the source study, validated with dicom3tools' dciodvfy and read back
with pydicom; C-STORE to pynetdicom's storage SCP started here on 127.0.0.1.

Source images: a phantom case written by the test as CT DICOM series (phantom/dicom_export.py)."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pynetdicom import AE, AllStoragePresentationContexts, evt

from conftest import phantom
from RenalMassAILib.case.loading import load_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.reading import read_image
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import KITS_LABELS, LabelMap, to_label_map
from RenalMassAILib.phantom.dicom_export import write_dicom_series
from RenalMassAILib.present.dicom_results import store_results, write_dicom_results
from RenalMassAILib.present.dicom_seg import present_segments, segment_terminology, unnamed_label_values
from RenalMassAILib.present.dicom_source import read_source_series, reference_source
from RenalMassAILib.present.dicom_store import parse_peer, store_files

SPEC = dict(
    seed=41, subtype="ccRCC", grade=4, diameter_mm=40.0, size=(96, 96, 24), spacing=(3.4, 3.4, 5.0), side="left"
)
PATIENT = {"PatientName": "Doe^Jane^Q", "PatientID": "MRN-0042", "PatientBirthDate": "19610203"}
STUDY_UID = "1.2.826.0.1.3680043.10.1462.77"
SCP_AET = "RMAI-TEST-SCP"
SEGMENT_VALUES = {segment_terminology()[name]["type"][1]: value for name, value in KITS_LABELS.items()}


def storage_scp(handler):
    """pynetdicom's storage SCP on an ephemeral port of 127.0.0.1; returns (server, port)."""
    ae = AE(ae_title=SCP_AET)
    ae.supported_contexts = AllStoragePresentationContexts
    ae.require_called_aet = True  # associations for another AE title are rejected
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=[(evt.EVT_C_STORE, handler)])
    return server, server.server_address[1]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One analyze run of the DICOM case with --dicom-out and --store (the slow part: ~60 s here)."""
    root = tmp_path_factory.mktemp("dicom-case")
    p = phantom(**SPEC)
    files = {k: str(v) for k, v in p.write(root / "nifti").items()}
    series = {"art": (Phase.ARTERIAL, "Arterial 5mm", "100035", 2), "ven": (Phase.VENOUS, "Venous 5mm", "100130", 3)}
    for folder, (phase, description, time, number) in series.items():
        write_dicom_series(
            p.images[phase],
            root / folder,
            description,
            "Iohexol",
            time,
            number,
            study_uid=STUDY_UID,
            patient_id=PATIENT["PatientID"],
            patient_name=PATIENT["PatientName"],
            patient_birth_date=PATIENT["PatientBirthDate"],
        )
    received = {}

    def keep(event):
        dataset = event.dataset
        dataset.file_meta = event.file_meta
        received[str(dataset.SOPInstanceUID)] = dataset
        return 0x0000

    server, port = storage_scp(keep)
    try:
        code = main(
            [
                "analyze",
                "-A",
                str(root / "art"),
                "-V",
                str(root / "ven"),
                "--segmentation",
                str(files["segmentation"]),
                "--out",
                str(root / "out"),
                "--dicom-out",
                str(root / "dicom"),
                "--store",
                f"127.0.0.1:{port}:{SCP_AET}",
            ]
        )
    finally:
        server.shutdown()
    assert code == 0
    manifest = json.loads((root / "dicom" / "dicom_results.json").read_text())
    objects = {entry["file"]: pydicom.dcmread(root / "dicom" / entry["file"]) for entry in manifest["objects"]}
    return {
        "root": root,
        "report": json.loads((root / "out" / "report.json").read_text()),
        "manifest": manifest,
        "objects": objects,
        "received": received,
        "files": files,
    }


def of_modality(run, modality: str) -> list[pydicom.Dataset]:
    return [d for d in run["objects"].values() if d.Modality == modality]


def source_headers(root) -> dict[str, pydicom.Dataset]:
    return {str(d.SOPInstanceUID): d for d in (pydicom.dcmread(f) for f in sorted((root / "art").iterdir()))}


def dciodvfy_errors(path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")]


def test_every_object_is_valid_for_dciodvfy(run):
    names = sorted(run["objects"])
    assert names == sorted(
        ["segmentation.dcm", "report_sr.dcm", "summary_pdf.dcm"]
        + [f"screenshot_{v}.dcm" for v in run["report"]["screenshots"]]
    )
    for name in names:
        assert not dciodvfy_errors(run["root"] / "dicom" / name), name


def test_seg_segments_map_back_onto_the_label_map_voxel_for_voxel(run):
    (seg,) = of_modality(run, "SEG")
    labels = sitk.ReadImage(str(run["root"] / "out" / "segmentation.nii.gz"))  # the analysis' label map
    expected = sitk.GetArrayFromImage(labels)
    value_of_segment = {
        s.SegmentNumber: SEGMENT_VALUES[s.SegmentedPropertyTypeCodeSequence[0].CodeValue] for s in seg.SegmentSequence
    }
    assert sorted(value_of_segment.values()) == sorted(np.unique(expected[expected > 0]).tolist())
    sources = source_headers(run["root"])
    rebuilt = np.zeros_like(expected)
    frames = seg.pixel_array.reshape(-1, *expected.shape[1:])
    for frame, group in zip(frames, seg.PerFrameFunctionalGroupsSequence):
        uid = group.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID
        position = [float(v) for v in sources[uid].ImagePositionPatient]  # the slice this frame was drawn on
        assert np.allclose(group.PlanePositionSequence[0].ImagePositionPatient, position, atol=1e-3)
        k = labels.TransformPhysicalPointToIndex(position)[2]
        value = value_of_segment[group.SegmentIdentificationSequence[0].ReferencedSegmentNumber]
        assert not (rebuilt[k][frame > 0] > 0).any(), "segments overlap"
        rebuilt[k][frame > 0] = value
    assert np.array_equal(rebuilt, expected)
    tumor = next(s for s in seg.SegmentSequence if s.SegmentLabel == "Renal tumor")
    assert tumor.SegmentedPropertyCategoryCodeSequence[0].CodeValue == "49755003"
    assert tumor.SegmentedPropertyTypeCodeSequence[0].CodeValue == "108369006"
    assert tumor.AnatomicRegionSequence[0].CodeValue == "64033007"


def content_items(sequence):
    for item in sequence:
        yield item
        yield from content_items(item.get("ContentSequence", []))


def test_sr_numbers_equal_report_json_and_reference_the_tumor_segment(run):
    (sr,) = of_modality(run, "SR")
    (seg,) = of_modality(run, "SEG")
    report = run["report"]
    items = list(content_items(sr.ContentSequence))
    numbers = {
        i.ConceptNameCodeSequence[0].CodeMeaning: float(i.MeasuredValueSequence[0].NumericValue)
        for i in items
        if i.ValueType == "NUM"
    }
    renal = report["nephrometry"]
    expected = {
        "Volume": report["lesion"]["volume_ml"],
        "Diameter": report["lesion"]["max_diameter_mm"],
        "Probability of malignancy": report["predictions"]["malignancy"]["probability"],
        "Probability of aggressiveness": report["predictions"]["aggressiveness"]["probability"],
        "Aggressiveness score (0-10)": report["predictions"]["aggressiveness"]["score_0_10"],
        "RENAL radius points": renal["R_points"],
        "RENAL exophytic/endophytic points": renal["E_points"],
        "RENAL nearness to collecting system points": renal["N_points"],
        "RENAL location relative to polar lines points": renal["L_points"],
        "RENAL nephrometry score total": renal["total"],
    }
    assert numbers == pytest.approx(expected, abs=0)
    texts = [i.TextValue for i in items if i.ValueType == "TEXT"]
    # algorithm identification: an A + V case gets the bundled demo model that serves phase subsets
    assert "demo-shared-resnet18" in texts and "0.2.0" in texts and "demo=yes" in texts
    demo = next(i for i in items if i.ValueType == "CODE" and i.ConceptNameCodeSequence[0].CodeValue == "RMAI020")
    assert demo.ConceptCodeSequence[0].CodeMeaning == "Yes"
    (reference,) = [
        i.ReferencedSOPSequence[0]
        for i in items
        if i.ValueType == "IMAGE" and "ReferencedSegmentNumber" in i.ReferencedSOPSequence[0]
    ]
    tumor = next(s.SegmentNumber for s in seg.SegmentSequence if s.SegmentLabel == "Renal tumor")
    assert reference.ReferencedSOPInstanceUID == seg.SOPInstanceUID and reference.ReferencedSegmentNumber == tumor


def test_uids_patient_and_references_are_those_of_the_source_study(run):
    sources = source_headers(run["root"])
    first = next(iter(sources.values()))
    series = set()
    for name, dataset in run["objects"].items():
        assert dataset.StudyInstanceUID == STUDY_UID, name
        for keyword, value in PATIENT.items():
            assert str(dataset.get(keyword)) == value, (name, keyword)  # exactly what came in
        assert dataset.SeriesInstanceUID not in (first.SeriesInstanceUID, ""), name
        assert "PatientIdentityRemoved" not in dataset
        series.add((dataset.Modality, dataset.SeriesInstanceUID))
    assert len({uid for _, uid in series}) == len(series) == 4  # a new series per object kind (SC: one series)
    (seg,) = of_modality(run, "SEG")
    assert seg.FrameOfReferenceUID == first.FrameOfReferenceUID
    assert seg.ReferencedSeriesSequence[0].SeriesInstanceUID == first.SeriesInstanceUID
    assert {i.ReferencedSOPInstanceUID for i in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence} <= set(
        sources
    )
    (sr,) = of_modality(run, "SR")
    evidence = {
        i.ReferencedSOPInstanceUID
        for s in sr.CurrentRequestedProcedureEvidenceSequence
        for r in s.ReferencedSeriesSequence
        for i in r.ReferencedSOPSequence
    }
    assert seg.SOPInstanceUID in evidence and set(sources) <= evidence
    (pdf,) = of_modality(run, "DOC")
    document = (run["root"] / "dicom" / "summary.pdf").read_bytes()
    assert pdf.EncapsulatedDocumentLength == len(document) and pdf.EncapsulatedDocument[: len(document)] == document
    manifest = run["manifest"]
    assert manifest["source_study"]["reference_series_uid"] == first.SeriesInstanceUID
    assert manifest["deidentified"] is False


def test_screenshots_become_secondary_captures_with_the_demo_banner(run):
    captures = {d.DerivationDescription.split()[2]: d for d in of_modality(run, "OT")}
    assert set(captures) == set(run["report"]["screenshots"])
    from PIL import Image

    axial = np.asarray(Image.open(run["root"] / "out" / run["report"]["screenshots"]["axial"]).convert("RGB"))
    assert np.array_equal(captures["axial"].pixel_array, axial)
    assert captures["axial"].PatientOrientation == ["L", "P"] and captures["axial"].BurnedInAnnotation == "YES"
    bottom = captures["axial"].pixel_array[-100:].astype(int)  # the DEMO banner's red box, as captured
    assert ((bottom[..., 0] > 150) & (bottom[..., 1] < 20) & (bottom[..., 2] < 20)).sum() > 2000


def pdf_text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, encoding="utf-8", check=True
    ).stdout


def test_the_pdf_renders_on_one_page_and_shows_the_findings(run, tmp_path):
    pdf = run["root"] / "dicom" / "summary.pdf"
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 1
    from PIL import Image

    pixels = np.asarray(Image.open(pages[0]).convert("RGB")).astype(int)
    assert ((pixels[..., 0] > 150) & (pixels[..., 1] < 60)).sum() > 200  # the red DEMO banner
    assert (pixels.sum(axis=-1) < 200).mean() > 0.05  # the axial screenshot (dark CT) is on the page
    text = pdf_text(pdf)
    report = run["report"]
    for line in (
        "DEMO MODEL - NOT FOR CLINICAL USE",
        f"P(malignancy) = {report['predictions']['malignancy']['probability']:.3f}",
        f"score {report['predictions']['aggressiveness']['score_0_10']:.2f} / 10",
        f"volume {report['lesion']['volume_ml']} mL",
        f"total {report['nephrometry']['total']}",
        "Doe^Jane^Q",
        "MRN-0042",
        "19610203",
    ):
        assert line in text, line


def test_the_objects_arrive_intact_at_the_storage_scp(run):
    received = run["received"]
    assert set(received) == {str(d.SOPInstanceUID) for d in run["objects"].values()}
    for name, dataset in run["objects"].items():
        assert received[str(dataset.SOPInstanceUID)] == dataset, name
    stored = run["manifest"]["stored"]
    assert stored["peer"].startswith(f"{SCP_AET}@127.0.0.1:") and {r["status"] for r in stored["files"]} == {"0x0000"}


def test_a_refusing_peer_is_one_clear_line_naming_it(run):
    paths = [run["root"] / "dicom" / "report_sr.dcm"]
    server, port = storage_scp(lambda event: 0xA700)  # "out of resources"
    try:
        with pytest.raises(InputError, match=rf"{SCP_AET}@127.0.0.1:{port}: the peer refused report_sr.dcm .*0xA700"):
            store_files(paths, parse_peer(f"127.0.0.1:{port}:{SCP_AET}"))
        with pytest.raises(InputError, match=rf"WRONG-AET@127.0.0.1:{port}: the peer rejected the association"):
            store_files(paths, parse_peer(f"127.0.0.1:{port}:WRONG-AET"))
    finally:
        server.shutdown()
    with pytest.raises(InputError, match=rf"{SCP_AET}@127.0.0.1:{port}: no association \(peer unreachable"):
        store_files(paths, parse_peer(f"127.0.0.1:{port}:{SCP_AET}"))  # nobody listens there any more
    with pytest.raises(InputError, match="expected HOST:PORT"):
        parse_peer("pacs.example.org")


def test_dicom_options_need_dicom_out(run, capsys):
    files = run["files"]
    assert main(["analyze", "-A", files["arterial"], "--store", "127.0.0.1:104", "--out", "unused"]) == 2
    assert "--store applies to the DICOM results: add --dicom-out DIR" in capsys.readouterr().err


def test_deidentified_outputs_carry_the_pseudonym_only(run, tmp_path):
    root = run["root"]
    reference, _ = read_image(root / "art")
    label_map = to_label_map(sitk.ReadImage(str(root / "out" / "segmentation.nii.gz")), reference)
    manifest = write_dicom_results(root / "out" / "report.json", reference, label_map, tmp_path, "STUDY-7")
    assert manifest["deidentified"] is True and "birth date" in manifest["deidentification"]
    for entry in manifest["objects"]:
        dataset = pydicom.dcmread(tmp_path / entry["file"])
        assert dataset.PatientName == "STUDY-7" and dataset.PatientID == "STUDY-7" and dataset.PatientBirthDate == ""
        assert dataset.PatientIdentityRemoved == "YES" and "pseudonym" in dataset.DeidentificationMethod
        assert dataset.StudyInstanceUID == STUDY_UID  # still in the source study
        assert "Doe" not in str(dataset) and "MRN-0042" not in str(dataset)
        assert not dciodvfy_errors(tmp_path / entry["file"]), entry["file"]
    text = pdf_text(tmp_path / "summary.pdf")
    assert "STUDY-7" in text and "de-identified" in text
    assert "Doe" not in text and "MRN-0042" not in text and "19610203" not in text


def test_a_nifti_case_has_no_source_study_and_gets_the_pdf_only(run, tmp_path):
    report = dict(run["report"], sources={"A": str(run["files"]["arterial"]), "V": str(run["files"]["venous"])})
    report["screenshots"] = {}
    (tmp_path / "report.json").write_text(json.dumps(report))
    reference = sitk.ReadImage(str(run["files"]["arterial"]))
    manifest = write_dicom_results(tmp_path / "report.json", reference, None, tmp_path / "dicom")
    assert manifest["objects"] == [] and manifest["source_study"] is None and "no source" in manifest["notes"][0]
    assert sorted(p.name for p in (tmp_path / "dicom").iterdir()) == ["dicom_results.json", "summary.pdf"]
    with pytest.raises(InputError, match="no DICOM objects to send .*no source DICOM study"):
        store_results(tmp_path / "dicom", parse_peer("127.0.0.1:104"))
    assert "no DICOM source study" in pdf_text(tmp_path / "dicom" / "summary.pdf")


def test_a_series_off_the_label_maps_grid_is_refused(run, tmp_path):
    """An uneven gap (one slice moved by 2 mm): the volume read from it cannot be referenced slice by slice."""
    p = phantom(**SPEC)
    folder = write_dicom_series(p.images[Phase.ARTERIAL], tmp_path / "uneven", "Arterial", "Iohexol", "100035", 2)
    moved = sorted(folder.iterdir())[5]
    dataset = pydicom.dcmread(moved)
    dataset.ImagePositionPatient[2] = float(dataset.ImagePositionPatient[2]) + 2.0
    dataset.save_as(moved)
    with pytest.raises(
        InputError,
        match="no DICOM series in .* lies on the label map's grid, so DICOM SEG cannot "
        "reference its slices .*not on one of the grid's slice positions",
    ):
        read_source_series(str(folder), None, p.images[Phase.ARTERIAL])


def test_without_a_label_map_there_is_no_seg_and_the_sr_references_the_images(run, tmp_path):
    root = run["root"]
    reference, _ = read_image(root / "art")
    report = dict(run["report"], screenshots={})
    report.pop("nephrometry")
    (tmp_path / "report.json").write_text(json.dumps(report))
    manifest = write_dicom_results(tmp_path / "report.json", reference, None, tmp_path / "dicom")
    assert [entry["modality"] for entry in manifest["objects"]] == ["SR", "DOC"]
    assert any("no SEG written" in note for note in manifest["notes"])
    sr = pydicom.dcmread(tmp_path / "dicom" / "report_sr.dcm")
    assert not dciodvfy_errors(tmp_path / "dicom" / "report_sr.dcm")
    referenced = {
        i.ReferencedSOPSequence[0].ReferencedSOPInstanceUID
        for i in content_items(sr.ContentSequence)
        if i.ValueType == "IMAGE"
    }
    assert referenced == set(source_headers(root))


def test_label_values_without_a_meaning_are_left_out_of_the_seg_by_name():
    image = sitk.Image(4, 4, 2, sitk.sitkUInt8)
    image[1, 1, 0] = KITS_LABELS["tumor"]
    image[2, 2, 1] = 7
    assert present_segments(LabelMap(image)) == ["tumor"]
    assert unnamed_label_values(LabelMap(image)) == [7]


def test_the_real_tilted_philips_series_cannot_be_referenced_slice_by_slice():
    """Real scanner data (neurolabusc/dcm_qa_ct, BSD-2; three slices of series S2010, gantry tilt
    -18.5 degrees, copied to Testing/data/philips-tilted-series with its LICENSE): the slice positions
    do not lie on any regular grid, so SEG refuses to reference the volume read from them."""
    folder = Path(__file__).parent / "data" / "philips-tilted-series" / "S21610" / "S2010"
    reference = load_case({Phase.ARTERIAL: str(folder)}).reference
    with pytest.raises(InputError, match="DICOM SEG cannot reference its slices"):
        read_source_series(str(folder), None, reference)


def test_a_series_picked_out_of_a_shared_folder_is_found_by_its_description(tmp_path):
    p = phantom(**SPEC)
    folder = tmp_path / "mixed"
    write_dicom_series(p.images[Phase.ARTERIAL], folder, "Arterial 5mm", "Iohexol", "100035", 2)
    write_dicom_series(p.images[Phase.VENOUS], folder, "Venous 5mm", "Iohexol", "100130", 3)
    report = {"reference_phase": "A", "sources": {"A": f"{folder}#Arterial 5mm"}}  # as --auto records it
    found = reference_source(report)
    assert found == (str(folder), "Arterial 5mm")
    series = read_source_series(*found, p.images[Phase.ARTERIAL])
    assert series.series_uid == "1.2.826.0.1.3680043.10.1462.1.2" and len(series.slices) == SPEC["size"][2]
    with pytest.raises(InputError, match="2 DICOM series in .* lie on the label map's grid"):
        read_source_series(str(folder), None, p.images[Phase.ARTERIAL])
    assert (
        reference_source({"reference_phase": "A", "sources": {"A": str(p.write(tmp_path / "nii")["arterial"])}}) is None
    )


def test_a_non_ascii_patient_name_comes_out_exactly_as_it_came_in(run, tmp_path):
    root = run["root"]
    folder = tmp_path / "latin1"
    folder.mkdir()
    for path in sorted((root / "art").iterdir()):
        dataset = pydicom.dcmread(path)
        dataset.SpecificCharacterSet = "ISO_IR 100"
        dataset.PatientName = "Müller^Jürgen"
        dataset.save_as(folder / path.name)
    report = dict(run["report"], sources={"A": str(folder)})
    (tmp_path / "report.json").write_text(json.dumps(report))
    with pytest.raises(InputError, match="screenshot 'axial' listed in .* is missing"):  # not beside this copy
        write_dicom_results(tmp_path / "report.json", read_image(folder)[0], None, tmp_path / "dicom")
    (tmp_path / "report.json").write_text(json.dumps(dict(report, screenshots={})))
    reference, _ = read_image(folder)
    manifest = write_dicom_results(tmp_path / "report.json", reference, None, tmp_path / "dicom")
    for entry in manifest["objects"]:
        dataset = pydicom.dcmread(tmp_path / "dicom" / entry["file"])
        assert str(dataset.PatientName) == "Müller^Jürgen" and dataset.SpecificCharacterSet == "ISO_IR 100"
    assert "name Müller^Jürgen" in pdf_text(tmp_path / "dicom" / "summary.pdf")
