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


def of_worker_run(model_folder, case, result: dict, options: dict | None = None) -> dict:
    """segmentation.json's record of a finished segmentation worker run on `case` (model identity, demo
    warning, the options it was asked, the worker's figures and the alignment of the phases it read)."""
    from RenalMassAILib.lesion.demo_input_check import demo_model_warning
    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.segmentation_record import segmentation_record

    model = open_segmentation_model(model_folder, case.phases)
    read = list(dict.fromkeys(model.channel_phases(case.reference_phase)))
    warning = demo_model_warning(model.identity.id, [case.images[p] for p in read]) if model.identity.demo else None
    record = segmentation_record(
        model, case.reference_phase, case.reference.GetSize(), options or {}, {}, result, warning
    )
    record["alignment"] = result.get("alignment", {})  # the worker registered the phases it read itself
    return record
