"""The label map as a segmentation node: named segments with terminology codes and colors."""

import functools
import json

import SimpleITK as sitk
import slicer
from vtkmodules.vtkCommonCore import reference, vtkStringArray

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import KITS_LABELS, LabelMap, to_label_map
from RenalMassAILib.resources import resources_dir
from RenalMassAILib.scene.volumes import add_volume, volume_to_image

# Segment names users and other tools give (lower case) -> label name. Terminology codes win over names.
SEGMENT_NAMES = {
    "kidney": "kidney",
    "kidneys": "kidney",
    "left kidney": "kidney",
    "right kidney": "kidney",
    "renal tumor": "tumor",
    "renal tumour": "tumor",
    "tumor": "tumor",
    "tumour": "tumor",
    "kidney tumor": "tumor",
    "mass": "tumor",
    "renal mass": "tumor",
    "renal cyst": "cyst",
    "cyst": "cyst",
    "kidney cyst": "cyst",
}
# Painting order: a later label wins where segments overlap (the tumor must stay whole).
PAINT_ORDER = ("kidney", "cyst", "tumor")


@functools.lru_cache(maxsize=1)
def segment_terminology() -> dict:
    return json.loads((resources_dir() / "Terminology" / "renal_segments.json").read_text())


def terminology_entry(label: str) -> str:
    """Slicer's serialised terminology entry (the segment's TerminologyEntry tag) of a label name."""
    terminology = segment_terminology()
    spec = terminology["segments"][label]
    entry = slicer.vtkSlicerTerminologyEntry()
    entry.SetTerminologyContextName(terminology["context"])
    _set_code(entry.GetCategoryObject(), spec["category"])
    _set_code(entry.GetTypeObject(), spec["type"])
    if "region" in spec:
        entry.SetRegionContextName(terminology["anatomic_context"])
        _set_code(entry.GetRegionObject(), spec["region"])
    return slicer.vtkSlicerTerminologiesModuleLogic.SerializeTerminologyEntry(entry)


def _set_code(target, code) -> None:
    scheme, value, meaning = code
    target.SetCodingSchemeDesignator(scheme)
    target.SetCodeValue(value)
    target.SetCodeMeaning(meaning)


def add_segmentation(scene, label_map: LabelMap, reference_volume, name: str = "Segmentation"):
    """A segmentation node with one segment per known, non-empty label, on the reference geometry."""
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    node.CreateDefaultDisplayNodes()
    node.SetReferenceImageGeometryParameterFromVolumeNode(reference_volume)
    fill_segmentation(node, label_map)
    return node


def fill_segmentation(node, label_map: LabelMap) -> None:
    """Replaces the node's segments by those of the label map (one label at a time, so the names,
    codes and colors never depend on a color table's order)."""
    scene = node.GetScene()
    segmentation = node.GetSegmentation()
    segmentation.RemoveAllSegments()
    terminology = segment_terminology()["segments"]
    values = sitk.GetArrayViewFromImage(label_map.image)
    for label, value in label_map.labels.items():
        if label not in terminology or not (values == value).any():
            continue
        mask = sitk.Cast(label_map.image == value, sitk.sitkUInt8)
        labelmap_node = add_volume(scene, mask, f"{label} mask", labelmap=True)
        try:
            before = segmentation.GetNumberOfSegments()
            if not slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(labelmap_node, node):
                raise RuntimeError(f"could not import the {label} label into the segmentation")
            segment = segmentation.GetNthSegment(before)
        finally:
            scene.RemoveNode(labelmap_node)
        spec = terminology[label]
        segment.SetName(spec["name"])
        segment.SetColor(*[c / 255 for c in spec["color"]])
        segment.SetTag(slicer.vtkSegment.GetTerminologyEntryTagName(), terminology_entry(label))


def label_of_segment(segment) -> str | None:
    """kidney / tumor / cyst from the segment's terminology type code, else from its name."""
    tag = reference("")
    if segment.GetTag(slicer.vtkSegment.GetTerminologyEntryTagName(), tag) and str(tag):
        entry = slicer.vtkSlicerTerminologyEntry()
        if slicer.vtkSlicerTerminologiesModuleLogic.DeserializeTerminologyEntry(str(tag), entry):
            code = entry.GetTypeObject().GetCodeValue()
            for label, spec in segment_terminology()["segments"].items():
                if code == spec["type"][1] and code:
                    return label
            if code == "4147007":  # "Mass"
                return "tumor"
    return SEGMENT_NAMES.get(segment.GetName().strip().lower())


def label_map_from_segmentation(node, reference_volume, reference_image) -> LabelMap:
    """The segmentation as a label map (kidney 1, tumor 2, cyst 3) on the reference volume's grid."""
    segmentation = node.GetSegmentation()
    by_label: dict[str, list[str]] = {}
    for index in range(segmentation.GetNumberOfSegments()):
        label = label_of_segment(segmentation.GetNthSegment(index))
        if label is not None:
            by_label.setdefault(label, []).append(segmentation.GetNthSegmentID(index))
    if "tumor" not in by_label:
        raise InputError(
            f"segmentation {node.GetName()!r} has no tumor segment (name it 'Renal tumor' or code it "
            "as Neoplasm / Mass); segments: "
            + ", ".join(segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments()))
        )
    scene = node.GetScene()
    values = None
    for label in PAINT_ORDER:
        if label not in by_label:
            continue
        mask = _export(scene, node, by_label[label], reference_volume)
        if values is None:
            values = sitk.Image(mask.GetSize(), sitk.sitkUInt8)
            values.CopyInformation(mask)
        values = sitk.Mask(values, mask == 0, outsideValue=KITS_LABELS[label])
    return to_label_map(values, reference_image, dict(KITS_LABELS), f"segmentation {node.GetName()!r}")


def _export(scene, node, segment_ids: list[str], reference_volume) -> sitk.Image:
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "RenalMassAI export")
    try:
        ids = vtkStringArray()
        for segment_id in segment_ids:
            ids.InsertNextValue(segment_id)
        if not slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
            node, ids, labelmap, reference_volume, slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY
        ):
            raise InputError(f"segmentation {node.GetName()!r}: segments {segment_ids} could not be exported")
        return sitk.Cast(volume_to_image(labelmap) > 0, sitk.sitkUInt8)
    finally:
        scene.RemoveNode(labelmap)
