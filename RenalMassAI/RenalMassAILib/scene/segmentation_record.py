"""The segmentation model's record (lesion.segmentation_record) kept on the segmentation node.

Stored as a JSON node attribute, so it is saved with the scene and travels with the node: an analysis
of that segmentation later reports which model drew it, and a demo model's DEMO mark and warnings.
"""

import json

ATTRIBUTE = "RenalMassAI.segmentationRecord"


def store(segmentation_node, record: dict) -> None:
    segmentation_node.SetAttribute(ATTRIBUTE, json.dumps(record))


def stored(segmentation_node) -> dict | None:
    """The record of the model that drew this segmentation; None for one drawn or loaded otherwise."""
    text = segmentation_node.GetAttribute(ATTRIBUTE)
    return json.loads(text) if text else None
