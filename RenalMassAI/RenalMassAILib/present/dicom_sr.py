"""The structured report: a TID 1500 measurement report of the analyzed renal tumor.

One volumetric measurement group (TID 1411) for the tumor, referencing its SEG segment: volume,
maximal diameter, the R.E.N.A.L. components and total, and the models' probabilities and score with
the algorithm that produced each (model id, version, demo flag). The numbers are report.json's.
Without a SEG (no label map) the group is an image-level one (TID 1501) on the reference series.
Concepts with no standard code use the private coding scheme 99RMAI (PS3.16 8.2: designators
starting with '99' are private)."""

import highdicom as hd
import pydicom
from pydicom.sr.codedict import codes

from RenalMassAILib import __version__
from RenalMassAILib.present.dicom_source import SourceSeries

PRIVATE_SCHEME = "99RMAI"
MILLILITER = hd.sr.CodedConcept("mL", "UCUM", "milliliter")
POINTS = hd.sr.CodedConcept("{points}", "UCUM", "points")
SCORE = hd.sr.CodedConcept("{score}", "UCUM", "score")
RENAL_POINTS = {
    "R_points": ("RMAI010", "RENAL radius points"),
    "E_points": ("RMAI011", "RENAL exophytic/endophytic points"),
    "N_points": ("RMAI012", "RENAL nearness to collecting system points"),
    "L_points": ("RMAI013", "RENAL location relative to polar lines points"),
    "total": ("RMAI014", "RENAL nephrometry score total"),
}
RENAL_ANTERIOR_CONCEPT = ("RMAI015", "RENAL anterior/posterior descriptor")
TASK_CONCEPTS = {
    "malignancy": ("RMAI001", "Probability of malignancy"),
    "aggressiveness": ("RMAI002", "Probability of aggressiveness"),
}
SCORE_CONCEPT = ("RMAI003", "Aggressiveness score (0-10)")
DEMO_CONCEPT = ("RMAI020", "Demonstration model used")
NEITHER_CONCEPT = ("RMAI016", "Neither anterior nor posterior")


def private(concept: tuple[str, str]) -> hd.sr.CodedConcept:
    value, meaning = concept
    return hd.sr.CodedConcept(value, PRIVATE_SCHEME, meaning)


def build_structured_report(
    source: SourceSeries,
    report: dict,
    segmentation: hd.seg.Segmentation | None,
    tumor_segment: int | None,
    tracking_uid: str,
    series_uid: str,
    sop_uid: str,
    series_number: int,
) -> hd.sr.Comprehensive3DSR:
    tracking = hd.sr.TrackingIdentifier(uid=tracking_uid, identifier="Renal tumor")
    content = {
        "tracking_identifier": tracking,
        "finding_type": codes.SCT.Neoplasm,
        "finding_sites": [hd.sr.FindingSite(codes.SCT.Kidney)],
        "measurements": _lesion_measurements(report) + _renal_measurements(report) + _model_measurements(report),
        "qualitative_evaluations": _qualitative_evaluations(report),
    }
    if segmentation is not None:
        group = hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
            referenced_segment=hd.sr.ReferencedSegment.from_segmentation(segmentation, tumor_segment), **content
        )
    else:
        group = hd.sr.MeasurementsAndQualitativeEvaluations(
            source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(s) for s in source.slices], **content
        )
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=hd.UID(), name="RenalMassAI", manufacturer_name="RenalMassAI", model_name=f"RenalMassAI {__version__}"
        ),
    )
    measurement_report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=codes.SCT.ComputedTomography,
        imaging_measurements=[group],
    )
    evidence = list(source.slices) + ([segmentation] if segmentation is not None else [])
    document = hd.sr.Comprehensive3DSR(
        evidence=evidence,
        content=measurement_report,
        series_instance_uid=series_uid,
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer="RenalMassAI",
        is_complete=True,
        series_description="RenalMassAI measurement report",
    )
    document.CodingSchemeIdentificationSequence = [_private_scheme()]
    return document


def _private_scheme() -> pydicom.Dataset:
    item = pydicom.Dataset()
    item.CodingSchemeDesignator = PRIVATE_SCHEME
    item.CodingSchemeName = "RenalMassAI private codes"
    item.CodingSchemeResponsibleOrganization = "RenalMassAI project"
    return item


def _lesion_measurements(report: dict) -> list[hd.sr.Measurement]:
    lesion = report.get("lesion") or {}
    measurements = []
    if lesion.get("volume_ml") is not None:
        measurements.append(hd.sr.Measurement(name=codes.SCT.Volume, value=lesion["volume_ml"], unit=MILLILITER))
    if lesion.get("max_diameter_mm") is not None:
        measurements.append(
            hd.sr.Measurement(
                name=codes.SCT.Diameter,
                value=lesion["max_diameter_mm"],
                unit=codes.UCUM.Millimeter,
                derivation=codes.SCT.Maximum,
            )
        )
    return measurements


def _renal_measurements(report: dict) -> list[hd.sr.Measurement]:
    renal = report.get("nephrometry") or {}
    return [
        hd.sr.Measurement(name=private(concept), value=renal[key], unit=POINTS)
        for key, concept in RENAL_POINTS.items()
        if renal.get(key) is not None
    ]


def _model_measurements(report: dict) -> list[hd.sr.Measurement]:
    measurements = []
    for task, prediction in (report.get("predictions") or {}).items():
        if task not in TASK_CONCEPTS:
            continue
        algorithm = _algorithm(prediction)
        measurements.append(
            hd.sr.Measurement(
                name=private(TASK_CONCEPTS[task]),
                value=prediction["probability"],
                unit=codes.UCUM.NoUnits,
                algorithm_id=algorithm,
            )
        )
        if prediction.get("score_0_10") is not None:
            measurements.append(
                hd.sr.Measurement(
                    name=private(SCORE_CONCEPT), value=prediction["score_0_10"], unit=SCORE, algorithm_id=algorithm
                )
            )
    return measurements


def _algorithm(prediction: dict) -> hd.sr.AlgorithmIdentification:
    model = prediction.get("model") or {}
    return hd.sr.AlgorithmIdentification(
        name=str(model.get("id", "unknown")),
        version=str(model.get("version", "unknown")),
        parameters=[
            f"demo={'yes' if model.get('demo') else 'no'}",
            f"phases used={' '.join(prediction.get('phases_used', []))}",
        ],
    )


def _qualitative_evaluations(report: dict) -> list[hd.sr.QualitativeEvaluation]:
    evaluations = [
        hd.sr.QualitativeEvaluation(private(DEMO_CONCEPT), codes.SCT.Yes if report.get("demo") else codes.SCT.No)
    ]
    descriptor = (report.get("nephrometry") or {}).get("A")
    if descriptor in ("a", "p", "x"):
        value = {"a": codes.SCT.Anterior, "p": codes.SCT.Posterior, "x": private(NEITHER_CONCEPT)}[descriptor]
        evaluations.append(hd.sr.QualitativeEvaluation(private(RENAL_ANTERIOR_CONCEPT), value))
    return evaluations
