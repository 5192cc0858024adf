"""DICOM SEG of the label map (kidney, renal tumor, renal cyst) on the reference series' frames.

Segment codes are the SNOMED CT codes of Resources/Terminology/renal_segments.json, the ones the
Slicer segmentation node carries, so a viewer shows the same names and meaning."""

import json

import highdicom as hd
import numpy as np
import SimpleITK as sitk
from pydicom.sr.codedict import codes

from RenalMassAILib import __version__
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.present.dicom_source import SourceSeries
from RenalMassAILib.resources import resources_dir

SEGMENT_ORDER = ("kidney", "tumor", "cyst")
MANUFACTURER = "RenalMassAI"


def segment_terminology() -> dict:
    return json.loads((resources_dir() / "Terminology" / "renal_segments.json").read_text())["segments"]


def present_segments(label_map: LabelMap) -> list[str]:
    """The label names that have voxels, in the SEG's segment order (segment number = position + 1)."""
    values = sitk.GetArrayViewFromImage(label_map.image)
    return [name for name in SEGMENT_ORDER if name in label_map.labels and (values == label_map.value(name)).any()]


def unnamed_label_values(label_map: LabelMap) -> list[int]:
    """Non-zero values in the label map that none of the SEG's segments stands for."""
    named = {label_map.value(name) for name in SEGMENT_ORDER if name in label_map.labels}
    values = np.unique(sitk.GetArrayViewFromImage(label_map.image))
    return [int(v) for v in values if v != 0 and int(v) not in named]


def segmentation_algorithm(report: dict) -> hd.AlgorithmIdentificationSequence | None:
    """The segmentation model report.json names, or None when the label map was given as a file
    (its origin is then unknown and the segments are recorded as MANUAL)."""
    segmentation = report.get("segmentation")
    model = segmentation.get("model") if isinstance(segmentation, dict) else None
    if not model:
        return None
    name = str(model.get("id") or model.get("name") or model) if isinstance(model, dict) else str(model)
    version = str(model.get("version", "unknown")) if isinstance(model, dict) else "unknown"
    return hd.AlgorithmIdentificationSequence(name=name[-64:], family=codes.DCM.ArtificialIntelligence, version=version)


def build_segmentation(
    source: SourceSeries,
    label_map: LabelMap,
    report: dict,
    series_uid: str,
    sop_uid: str,
    series_number: int,
    tracking_uids: dict[str, str],
) -> hd.seg.Segmentation:
    """A BINARY SEG with one segment per label present; frame k of the label map is source slice k."""
    terminology = segment_terminology()
    names = present_segments(label_map)
    algorithm = segmentation_algorithm(report)
    descriptions = []
    for number, name in enumerate(names, start=1):
        entry = terminology[name]
        descriptions.append(
            hd.seg.SegmentDescription(
                segment_number=number,
                segment_label=entry["name"],
                segmented_property_category=_code(entry["category"]),
                segmented_property_type=_code(entry["type"]),
                algorithm_type="AUTOMATIC" if algorithm is not None else "MANUAL",
                algorithm_identification=algorithm,
                tracking_uid=tracking_uids[name],
                tracking_id=entry["name"],
                anatomic_regions=[_code(entry["region"])] if "region" in entry else None,
                display_color=hd.color.CIELabColor.from_rgb(*entry["color"]),
            )
        )
    values = sitk.GetArrayFromImage(label_map.image)  # (slice, row, column) = source (frame, row, column)
    masks = np.stack([values == label_map.value(name) for name in names], axis=-1)
    return hd.seg.Segmentation(
        source_images=list(source.slices),
        pixel_array=masks,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        series_instance_uid=series_uid,
        series_number=series_number,
        sop_instance_uid=sop_uid,
        instance_number=1,
        manufacturer=MANUFACTURER,
        manufacturer_model_name="RenalMassAI",
        software_versions=__version__,
        device_serial_number="none",
        content_label="RENALSEG",
        content_description="Kidney, renal tumor and renal cyst",
        series_description="RenalMassAI segmentation",
    )


def _code(triple) -> hd.sr.CodedConcept:
    scheme, value, meaning = triple
    return hd.sr.CodedConcept(value=value, scheme_designator=scheme, meaning=meaning)
