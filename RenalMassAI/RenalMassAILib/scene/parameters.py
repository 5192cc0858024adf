"""The module's parameter node: inputs, models, outputs and options, saved with the scene.

The names are those of the module's typed parameter node (RenalMassAI.py), so the headless glue
and the Slicer GUI read and write the same node.
"""

MODULE_NAME = "RenalMassAI"
NODE_REFERENCES = (
    "nonContrastVolume",
    "arterialVolume",
    "venousVolume",
    "segmentation",
    "tumorCenter",
    "voi",
    "resultsTable",
)
PHASE_REFERENCE = {"N": "nonContrastVolume", "A": "arterialVolume", "V": "venousVolume"}


def parameter_node(scene):
    """The module's singleton parameter node (created on first use)."""
    node = scene.GetSingletonNode(MODULE_NAME, "vtkMRMLScriptedModuleNode")
    if node is None:
        node = scene.AddNewNodeByClass("vtkMRMLScriptedModuleNode")
        node.SetName(MODULE_NAME)
        node.SetSingletonTag(MODULE_NAME)
        node.SetAttribute("ModuleName", MODULE_NAME)
    return node


def set_reference(node, role: str, target) -> None:
    if role not in NODE_REFERENCES:
        raise KeyError(f"unknown parameter node reference {role!r}")
    node.SetNodeReferenceID(role, target.GetID() if target is not None else None)


def set_parameters(node, **values) -> None:
    """Plain parameters (model paths, options) stored as text."""
    for name, value in values.items():
        node.SetParameter(name, "" if value is None else str(value))
