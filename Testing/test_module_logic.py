"""The Slicer module's Logic (RenalMassAI.py) run outside Slicer.

Slicer's Qt application is not available here, so the Qt-side modules the module file imports (qt,
slicer.ScriptedLoadableModule, slicer.parameterNodeWrapper) are replaced by small stand-ins that keep
Slicer's storage conventions (singleton parameter node named after the module, node references and
parameters stored under the field names). Everything else is real: the MRML scene (slicer-core),
slicer.util, the segmentation worker with the demo nnU-Net model, the classifier, the export.
"""

import csv
import importlib.util
import sys
import types
import typing
from pathlib import Path

import numpy as np
import pytest
import slicer

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.scene import markers, parameters
from RenalMassAILib.scene.results_table import table_rows
from RenalMassAILib.scene.scene_app import SceneApp
from RenalMassAILib.scene.volumes import add_ct_volume
from conftest import phantom

MODULE_FILE = Path(__file__).resolve().parents[1] / "RenalMassAI" / "RenalMassAI.py"


class _Choice:
    def __init__(self, choices):
        self.choices = choices


class _WithinRange:
    def __init__(self, low, high):
        self.low, self.high = low, high


def _parameter_node_wrapper(cls):
    """Typed fields over a vtkMRMLScriptedModuleNode: nodes as references, the rest as parameters."""
    hints = typing.get_type_hints(cls, include_extras=True)

    def field(name, kind, default):
        base = typing.get_args(kind)[0] if typing.get_origin(kind) is typing.Annotated else kind
        if isinstance(base, type) and issubclass(base, slicer.vtkMRMLNode):
            return property(lambda self: self.parameterNode.GetNodeReference(name),
                            lambda self, node: self.parameterNode.SetNodeReferenceID(name, node.GetID() if node else None))

        def get(self):
            text = self.parameterNode.GetParameter(name)
            if text == "":
                return default
            return text == "True" if base is bool else base(text)
        return property(get, lambda self, value: self.parameterNode.SetParameter(name, str(value)))

    def __init__(self, node):
        self.parameterNode = node
    members = {"__init__": __init__}
    for name, kind in hints.items():
        members[name] = field(name, kind, cls.__dict__.get(name))
    return type(cls.__name__, (), members)


class _ScriptedLoadableModuleLogic:
    def getParameterNode(self):
        return parameters.parameter_node(slicer.mrmlScene)


@pytest.fixture()
def module(monkeypatch, tmp_path):
    app = SceneApp.create()
    monkeypatch.setattr(slicer, "mrmlScene", app.scene, raising=False)
    monkeypatch.setattr(slicer, "app", types.SimpleNamespace(slicerHome=str(tmp_path), applicationLogic=lambda: app.app_logic),
                        raising=False)
    qt = types.ModuleType("qt")
    qt.QTimer, qt.QIcon = object, object
    loadable = types.ModuleType("slicer.ScriptedLoadableModule")
    loadable.ScriptedLoadableModule = type("ScriptedLoadableModule", (), {})
    loadable.ScriptedLoadableModuleWidget = type("ScriptedLoadableModuleWidget", (), {})
    loadable.ScriptedLoadableModuleTest = type("ScriptedLoadableModuleTest", (), {})
    loadable.ScriptedLoadableModuleLogic = _ScriptedLoadableModuleLogic
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.Choice, wrapper.WithinRange, wrapper.parameterNodeWrapper = _Choice, _WithinRange, _parameter_node_wrapper
    for name, stand_in in (("qt", qt), ("slicer.ScriptedLoadableModule", loadable),
                           ("slicer.parameterNodeWrapper", wrapper)):
        monkeypatch.setitem(sys.modules, name, stand_in)
    spec = importlib.util.spec_from_file_location("RenalMassAI", MODULE_FILE)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    yield loaded, app


def test_module_logic_runs_the_workflow_on_a_real_scene(module, tmp_path):
    renal, app = module
    case = phantom(seed=7901, subtype="ccRCC", diameter_mm=45.0, side="left", pole="mid",
                   size=(112, 112, 36), spacing=(2.5, 2.5, 4.0))
    for phase in (Phase.ARTERIAL, Phase.VENOUS):
        add_ct_volume(app.scene, case.images[phase], f"CT {phase.long_name.upper()} 2.5mm")
    logic = renal.RenalMassAILogic()
    assert logic.missingDependencies() == []
    params = logic.getParameterNode()
    assert set(logic.assignPhases(params)) == {"A", "V"}
    assert params.arterialVolume.GetName() == "CT ARTERIAL 2.5mm"

    job = logic.startSegmentation(params)  # the real worker process with the bundled demo model
    stages = [message["stage"] for message in job.progress()]
    assert stages[-1] == "done"
    segmentation = logic.loadSegmentation(params, job)
    names = [segmentation.GetSegmentation().GetNthSegment(i).GetName()
             for i in range(segmentation.GetSegmentation().GetNumberOfSegments())]
    assert "Kidney" in names and "Renal tumor" in names
    assert not Path(job.result["output"]).exists()  # the label map (patient data) is removed

    assert "centre of the segmented tumor" in logic.placeOrResetCenter(params)
    start = np.array(markers.center_of(params.tumorCenter))
    assert np.linalg.norm(start - np.array(case.lesion_center_lps) * [-1, -1, 1]) < 8.0

    case_scene = logic.analyze(params)
    try:
        first = {row["task"]: row for row in table_rows(params.resultsTable)}
        assert set(first) == {"malignancy", "aggressiveness"} and first["malignancy"]["demo"] == "yes"
        assert case_scene.nodes.volumes["A"] is params.arterialVolume  # the user's volumes, not copies
        assert params.voi is not None
        markers.move_center(params.tumorCenter, start + (6.0, 0.0, 0.0))
        case_scene.refresher.wait()
        moved = {row["task"]: row for row in table_rows(params.resultsTable)}
        assert moved["malignancy"]["center_source"] == "user"
        assert moved["malignancy"]["probability"] != first["malignancy"]["probability"]
        assert "P(malignancy)" in logic.describe(case_scene.analysis)

        params.outputFolder = str(tmp_path / "export")
        report = logic.export(case_scene, params)
        assert report.exists() and (tmp_path / "export" / "summary.html").exists()
        assert {p.name for p in (tmp_path / "export" / "screenshots").iterdir()} >= {"axial.png", "3d.png"}
    finally:
        case_scene.close()


def test_constraints_pin_slicers_own_packages(module):
    renal, _ = module
    pins = dict(line.split("==") for line in renal.RenalMassAILogic._slicerPackagePins().split())
    assert set(pins) >= {"numpy", "SimpleITK", "vtk"}
    assert pins["numpy"] == np.__version__
    requirements = Path(renal.resources_dir()) / "requirements-slicer.txt"
    assert requirements.exists() and "torch" not in requirements.read_text().split("#")[-1]


def test_bad_input_gives_a_clear_error_and_keeps_the_scene(module):
    renal, app = module
    from RenalMassAILib.errors import InputError
    logic = renal.RenalMassAILogic()
    params = logic.getParameterNode()
    before = app.scene.GetNumberOfNodes()
    with pytest.raises(InputError, match="select at least one phase volume"):
        logic.analyze(params)
    assert app.scene.GetNumberOfNodes() == before
    with open(MODULE_FILE) as file:
        assert "messageBox" not in file.read().split("class RenalMassAILogic")[1].split("class RenalMassAITest")[0]


def test_results_table_is_readable_as_csv(module, tmp_path):
    """The table node is a plain MRML table: what `table_rows` reads is what a scene file would store."""
    renal, app = module
    case = phantom(seed=11, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), side="left", pole="mid")
    add_ct_volume(app.scene, case.images[Phase.ARTERIAL], "arterial")
    logic = renal.RenalMassAILogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    params.tumorCenter = markers.add_center_fiducial(app.scene, np.array(case.lesion_center_lps) * [-1, -1, 1])
    case_scene = logic.analyze(params)
    try:
        storage = slicer.vtkMRMLTableStorageNode()
        storage.SetFileName(str(tmp_path / "results.csv"))
        assert storage.WriteData(params.resultsTable)
        rows = list(csv.DictReader(open(tmp_path / "results.csv")))
        assert {row["task"] for row in rows} == {"malignancy", "aggressiveness"}
        assert all(row["phases_used"] == "A" and row["center_source"] == "user" for row in rows)
    finally:
        case_scene.close()
