"""The label map as a segmentation node: named segments with terminology codes and colours."""

import functools
import json

import SimpleITK as sitk
import slicer

from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.resources import resources_dir
from RenalMassAILib.scene.volumes import add_volume


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
    codes and colours never depend on a colour table's order)."""
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
