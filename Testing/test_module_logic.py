"""The Slicer module's Logic (RenalMassAILib/scene/module_logic.py, created by RenalMassAI.py) outside Slicer.

Slicer's Qt application is not available here, so the Qt-side modules the module file imports (qt,
slicer.i18n, slicer.ScriptedLoadableModule, slicer.parameterNodeWrapper) are replaced by small
stand-ins that keep Slicer's storage conventions (singleton parameter node named after the module,
node references and parameters stored under the field names). Everything else is real: the MRML
scene (slicer-core), the Markups logic, the segmentation worker process with the demo nnU-Net model,
the classifier, offscreen rendering, the export.
"""

import hashlib
import importlib.util
import json
import sys
import types
import typing
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
import slicer

from conftest import csv_rows, fixed_field_classifier, phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.errors import InputError
from RenalMassAILib.scene import markers, segmentation_record
from RenalMassAILib.scene.layout_views import LayoutApp, SliceViewParts, ThreeDViewParts
from RenalMassAILib.scene.module_logic import LABELS_FOLDER_PREFIX, SegmentationRun
from RenalMassAILib.scene.results_table import table_rows
from RenalMassAILib.scene.sample_data import DEMO_FILES
from RenalMassAILib.scene.scene_app import SceneApp
from RenalMassAILib.scene.segmentation_task import SegmentationTask
from RenalMassAILib.scene.views import SliceView, ThreeDView
from RenalMassAILib.scene.volumes import add_ct_volume

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
            return property(
                lambda self: self.parameterNode.GetNodeReference(name),
                lambda self, node: self.parameterNode.SetNodeReferenceID(name, node.GetID() if node else None),
            )

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


@pytest.fixture()
def module(monkeypatch, tmp_path):
    app = SceneApp.create()
    monkeypatch.setattr(slicer, "mrmlScene", app.scene, raising=False)
    monkeypatch.setattr(
        slicer,
        "app",
        types.SimpleNamespace(
            slicerHome=str(tmp_path), applicationLogic=lambda: app.app_logic, majorVersion=5, minorVersion=10
        ),
        raising=False,
    )
    qt = types.ModuleType("qt")
    qt.QTimer, qt.QIcon = object, object
    i18n = types.ModuleType("slicer.i18n")
    i18n.tr, i18n.translate = (lambda text: text), (lambda context, text: text)
    loadable = types.ModuleType("slicer.ScriptedLoadableModule")
    for name in ("ScriptedLoadableModule", "ScriptedLoadableModuleWidget", "ScriptedLoadableModuleTest"):
        setattr(loadable, name, type(name, (), {}))
    wrapper = types.ModuleType("slicer.parameterNodeWrapper")
    wrapper.Choice, wrapper.WithinRange, wrapper.parameterNodeWrapper = _Choice, _WithinRange, _parameter_node_wrapper
    for name, stand_in in (
        ("qt", qt),
        ("slicer.i18n", i18n),
        ("slicer.ScriptedLoadableModule", loadable),
        ("slicer.parameterNodeWrapper", wrapper),
    ):
        monkeypatch.setitem(sys.modules, name, stand_in)
    spec = importlib.util.spec_from_file_location("RenalMassAI", MODULE_FILE)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    yield loaded, app


def _add_phases(app, seed=7901, **changes):
    case = phantom(
        seed=seed,
        subtype="ccRCC",
        diameter_mm=45.0,
        side="left",
        pole="mid",
        size=(112, 112, 36),
        spacing=(2.5, 2.5, 4.0),
        **changes,
    )
    for phase in (Phase.ARTERIAL, Phase.VENOUS):
        add_ct_volume(app.scene, case.images[phase], f"CT {phase.long_name.upper()} 2.5mm")
    return case


def _ras(case) -> np.ndarray:
    return np.array(case.lesion_center_lps) * [-1, -1, 1]


def _poll_until_done(task, seconds=900.0):
    """The task's messages until it ends; cancels it (no worker left running) if it takes too long."""
    import time

    deadline, messages = time.time() + seconds, []
    try:
        while task.running and time.time() < deadline:
            messages += task.poll()
            time.sleep(0.05)
    finally:
        task.cancel()  # nothing to do when it has ended
    return messages


def test_module_logic_runs_the_workflow_on_a_real_scene(module, tmp_path):
    renal, app = module
    case = _add_phases(app)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    assert set(logic.assignPhases(params)) == {"A", "V"}
    assert params.arterialVolume.GetName() == "CT ARTERIAL 2.5mm"

    task = SegmentationTask(logic, app.scene)  # the real worker process with the bundled demo model
    task.start(params)
    assert task.running
    labels = task.run.labels_folder
    assert labels.is_dir() and labels.name.startswith(LABELS_FOLDER_PREFIX)
    messages = _poll_until_done(task)
    assert not task.running and messages[-1]["stage"] == "done"
    segmentation = messages[-1]["segmentation"]
    assert segmentation is params.segmentation
    names = [
        segmentation.GetSegmentation().GetNthSegment(i).GetName()
        for i in range(segmentation.GetSegmentation().GetNumberOfSegments())
    ]
    assert "Kidney" in names and "Renal tumor" in names
    assert not labels.exists()  # the label map (patient data) is removed
    record = segmentation_record.stored(segmentation)  # which model drew it, kept on the node
    assert record["model"]["demo"] is True and record["warnings"]  # the demo model, on a phantom made here
    task.close()

    assert "center of the segmented tumor" in logic.placeOrResetCenter(params)
    start = np.array(markers.center_of(params.tumorCenter))
    assert np.linalg.norm(start - _ras(case)) < 8.0

    analyzed = logic.analyze(params)
    try:
        first = {row["task"]: row for row in table_rows(params.resultsTable)}
        assert set(first) == {"malignancy", "aggressiveness"} and first["malignancy"]["demo"] == "yes"
        assert analyzed.scene.nodes.volumes["A"] is params.arterialVolume  # the user's volumes, not copies
        assert analyzed.label_map is not None and params.voi is not None
        markers.move_center(params.tumorCenter, start + np.array([6.0, 0.0, 0.0]))
        analyzed.scene.refresher.wait()
        moved = {row["task"]: row for row in table_rows(params.resultsTable)}
        assert moved["malignancy"]["center_source"] == "user"
        # An answer of the analysis worker still knows the demo segmentation model drew the label map.
        assert analyzed.analysis.segmentation_demo and analyzed.analysis.warnings == tuple(record["warnings"])
        assert moved["malignancy"]["probability"] != first["malignancy"]["probability"]
        assert "P(malignancy)" in logic.describe(analyzed.analysis)

        params.outputFolder = str(tmp_path / "export")
        report = logic.export(app, analyzed, params)
        assert report.exists() and (tmp_path / "export" / "summary.html").exists()
        exported = json.loads(report.read_text())
        assert exported["lesion"]  # the label map went into the report
        assert exported["segmentation"]["model"]["demo"] is True and exported["demo"] is True
        assert {p.name for p in (tmp_path / "export" / "screenshots").iterdir()} >= {"axial.png", "3d.png"}
    finally:
        analyzed.close()


def test_a_failing_load_ends_the_run_and_removes_the_labels(module):
    """The worker is done but its label map cannot be read: the error reaches the caller, the task
    is idle again (Segment enabled, Cancel disabled) and the label folder is gone."""
    renal, app = module
    _add_phases(app)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    case = logic.case(params)
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix=LABELS_FOLDER_PREFIX))
    (folder / "labels.nii.gz").write_bytes(b"not a NIfTI file")

    class FinishedJob:  # a worker that has ended and reported its (unreadable) label map
        result: typing.ClassVar[dict] = {"stage": "done", "output": str(folder / "labels.nii.gz")}
        cancelled = False

        def messages(self):
            return [dict(self.result)]

        def cancel(self):
            self.cancelled = True

    task = SegmentationTask(logic, app.scene)
    task.run, task._params = SegmentationRun(FinishedJob(), case, params.arterialVolume, folder), params
    with pytest.raises(InputError):
        task.poll()
    assert not task.running and task.poll() == []
    assert not folder.exists()
    assert params.segmentation is None  # nothing half-loaded
    task.close()


def test_the_int8_box_runs_the_network_in_openvino_int8_and_the_node_says_so(module):
    renal, app = module
    _add_phases(app)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    params.segmentationInt8 = True
    task = SegmentationTask(logic, app.scene)
    task.start(params)
    request = json.loads((task.run.job.temporary / "request.json").read_text())
    assert request["options"] == {"int8": True}
    messages = _poll_until_done(task)
    assert messages[-1]["stage"] == "done"
    record = segmentation_record.stored(messages[-1]["segmentation"])
    assert record["backend"]["backend"] == "openvino" and record["backend"]["precision"] == "int8"
    assert record["options"] == {"int8": True}  # what was asked, beside what ran
    task.close()


def test_the_workers_error_ends_the_run_and_removes_every_file(module, tmp_path):
    renal, app = module
    _add_phases(app)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    params.segmentationModel = str(tmp_path / "no-such-model")
    task = SegmentationTask(logic, app.scene)
    task.start(params)
    job, labels = task.run.job, task.run.labels_folder
    with pytest.raises(RuntimeError, match="segmentation failed"):
        _poll_until_done(task, 120.0)
    assert not task.running
    assert not labels.exists() and not job.temporary.exists()
    task.close()


def test_cancel_and_closing_the_scene_end_a_running_segmentation(module):
    renal, app = module
    _add_phases(app)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    task = SegmentationTask(logic, app.scene)
    task.start(params)
    job, labels = task.run.job, task.run.labels_folder
    assert labels.is_dir()  # the run's label folder exists while it runs
    task.cancel()  # the Cancel button
    assert not task.running and job.process.poll() is not None
    assert not job.temporary.exists() and not labels.exists()

    task.start(params)
    job, labels = task.run.job, task.run.labels_folder
    assert job.process.poll() is None  # still running
    app.scene.Clear(False)  # what File > Close Scene does
    assert not task.running
    assert job.process.poll() is not None  # the worker has ended
    assert not job.temporary.exists() and not labels.exists()
    task.close()


def test_place_or_reset_after_an_analysis_places_a_new_point(module):
    """Analysis locks the center fiducial to one fixed point, on which RemoveAllControlPoints does
    nothing; Place / reset without a segmentation must still clear it and start place mode."""
    renal, app = module
    case, logic, params, analyzed = _analyze_arterial_phantom(renal, app)
    try:
        fiducial = params.tumorCenter
        assert fiducial.GetFixedNumberOfControlPoints()
        message = logic.placeOrResetCenter(params)
        assert "Click" in message and fiducial.GetNumberOfControlPoints() == 0
        interaction = app.app_logic.GetInteractionNode()
        assert interaction.GetCurrentInteractionMode() == interaction.Place
        assert app.app_logic.GetSelectionNode().GetActivePlaceNodeID() == fiducial.GetID()
        clicked = _ras(case) + np.array([3.0, 0.0, 0.0])
        fiducial.AddControlPoint(*clicked, markers.CENTER_NAME)  # the user's click
        assert fiducial.GetNumberOfControlPoints() == 1
        analyzed.scene.refresher.wait()  # the live analysis follows the new point
        assert np.allclose(analyzed.analysis.center_lps, clicked * [-1, -1, 1], atol=1e-3)
        fiducial.AddControlPoint(*_ras(case), "second")
        assert fiducial.GetNumberOfControlPoints() == 1  # still one point at most
    finally:
        analyzed.close()
    locked = markers.add_center_fiducial(app.scene, _ras(case))
    locked.RemoveAllControlPoints()
    assert locked.GetNumberOfControlPoints() == 1  # the Markups behavior clear_center works around


def _layout_app(app):
    """A LayoutApp over offscreen views made beforehand, standing in for Slicer's layout views."""
    views = {name: SliceView(app, name, (320, 300)) for name in ("Red", "Yellow", "Green")}
    threed = ThreeDView(app, (320, 300), "View1")
    layout = app.scene.AddNewNodeByClass("vtkMRMLLayoutNode")
    layout.SetViewArrangement(slicer.vtkMRMLLayoutNode.SlicerLayoutOneUpRedSliceView)
    arrangements = []
    layout_app = LayoutApp(
        app.scene,
        app.app_logic,
        {name: SliceViewParts(view.node, view.logic, view.window, view.render) for name, view in views.items()},
        ThreeDViewParts(threed.node, threed.renderer, threed.window, threed.render),
        layout,
        lambda: arrangements.append(layout.GetViewArrangement()),
    )
    return layout_app, views, threed, arrangements


def _slice_view_state(views) -> dict:
    """What a user set in each slice view: orientation, field of view, offset, layers, opacity."""
    return {
        name: (
            v.node.GetOrientationString(),
            v.node.GetFieldOfView(),
            v.node.GetSliceOffset(),
            v.composite.GetBackgroundVolumeID(),
            v.composite.GetForegroundOpacity(),
        )
        for name, v in views.items()
    }


def test_export_through_the_layout_views_restores_them_and_adds_no_nodes(module, tmp_path):
    renal, app = module
    case = _add_phases(app, seed=11)
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    params.malignancyModel = params.aggressivenessModel = str(fixed_field_classifier())  # a center, no mass
    params.tumorCenter = markers.add_center_fiducial(app.scene, _ras(case))
    analyzed = logic.analyze(params)
    layout_app, views, threed, arrangements = _layout_app(app)
    try:
        red = views["Red"]
        red.node.SetOrientation("Coronal")  # the user's own choice, to be kept
        red.composite.SetForegroundOpacity(0.8)
        camera = threed.renderer.GetActiveCamera()
        camera_before = (camera.GetPosition(), camera.GetFocalPoint())
        slice_before = _slice_view_state(views)
        props_before = {name: v.overlay.GetViewProps().GetNumberOfItems() for name, v in views.items()}
        nodes_before = app.scene.GetNumberOfNodes()
        params.outputFolder = str(tmp_path / "export")
        logic.export(layout_app, analyzed, params)

        shots = tmp_path / "export" / "screenshots"
        assert {"axial.png", "coronal.png", "sagittal.png", "3d.png"} <= {p.name for p in shots.iterdir()}
        import SimpleITK as sitk

        axial = sitk.GetArrayFromImage(sitk.ReadImage(str(shots / "axial.png")))
        assert axial.shape[:2] == (300, 320) and axial.std() > 5  # the borrowed view's own size, not blank
        assert app.scene.GetNumberOfNodes() == nodes_before  # no view nodes, no leftovers
        assert _slice_view_state(views) == slice_before
        assert {name: v.overlay.GetViewProps().GetNumberOfItems() for name, v in views.items()} == props_before
        assert (camera.GetPosition(), camera.GetFocalPoint()) == camera_before
        assert arrangements[0] == slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpView  # all views shown while capturing
        assert layout_app.layout_node.GetViewArrangement() == slicer.vtkMRMLLayoutNode.SlicerLayoutOneUpRedSliceView
    finally:
        analyzed.close()
        for view in (*views.values(), threed):
            view.close()


def test_screenshots_leave_no_closed_surface_on_the_users_segmentation(module, tmp_path):
    renal, app = module
    case = _add_phases(app, seed=11)
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.scene.segmentation import add_segmentation

    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    label_map = to_label_map(case.labels, case.images[Phase.ARTERIAL])
    params.segmentation = add_segmentation(app.scene, label_map, params.arterialVolume, "user segmentation")
    surface = slicer.vtkSegmentationConverter.GetSegmentationClosedSurfaceRepresentationName()
    assert not params.segmentation.GetSegmentation().ContainsRepresentation(surface)
    analyzed = logic.analyze(params)
    try:
        params.outputFolder = str(tmp_path / "export")
        logic.export(app, analyzed, params)
        assert (tmp_path / "export" / "screenshots" / "3d.png").exists()
        assert not params.segmentation.GetSegmentation().ContainsRepresentation(surface)
    finally:
        analyzed.close()


def test_constraints_hold_slicers_own_packages_and_torch(module):
    from RenalMassAILib.scene import dependencies

    pins = dict(line.split("==") for line in dependencies.constraints_text().split())
    assert set(pins) >= {"numpy", "SimpleITK", "vtk", "torch"}
    assert pins["numpy"] == np.__version__
    import torch

    assert pins["torch"] == torch.__version__.split("+")[0] or pins["torch"] == torch.__version__
    assert dependencies.missing_modules() == []


def _node_ids(scene) -> set[str]:
    return {scene.GetNthNode(i).GetID() for i in range(scene.GetNumberOfNodes())}


def test_bad_input_names_the_field_and_keeps_the_scene(module):
    renal, app = module
    logic = renal.createLogic()
    params = logic.getParameterNode()
    before = _node_ids(app.scene)
    with pytest.raises(InputError, match="select at least one phase volume") as raised:
        logic.analyze(params)
    assert raised.value.field == "phases" and _node_ids(app.scene) == before
    case = phantom(seed=11, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), side="left", pole="mid")
    add_ct_volume(app.scene, case.images[Phase.ARTERIAL], "arterial")
    logic.assignPhases(params)
    before = _node_ids(app.scene)
    with pytest.raises(InputError, match="place the tumor center") as raised:
        logic.analyze(params)
    assert raised.value.field == "center" and "--center" not in str(raised.value)
    params.tumorCenter = markers.add_center_fiducial(app.scene, (500.0, 500.0, 500.0))
    before = _node_ids(app.scene)
    with pytest.raises(InputError, match="lies outside") as raised:
        logic.analyze(params)
    assert raised.value.field == "center" and markers.CENTER_NAME in str(raised.value)  # the fiducial's name
    assert _node_ids(app.scene) == before
    with pytest.raises(InputError, match="output folder") as raised:
        logic.export(app, None, params)
    assert raised.value.field == "outputFolder"


def test_results_table_is_readable_as_csv(module, tmp_path):
    """The table node is a plain MRML table: what `table_rows` reads is what a scene file would store."""
    renal, app = module
    _case, _logic, params, analyzed = _analyze_arterial_phantom(renal, app)
    try:
        storage = slicer.vtkMRMLTableStorageNode()
        storage.SetFileName(str(tmp_path / "results.csv"))
        assert storage.WriteData(params.resultsTable)
        rows = csv_rows(tmp_path / "results.csv")
        assert {row["task"] for row in rows} == {"malignancy", "aggressiveness"}
        assert all(row["phases_used"] == "A" and row["center_source"] == "user" for row in rows)
    finally:
        analyzed.close()


def test_the_module_refuses_slicer_older_than_5_10(module):
    renal, _ = module
    assert "5.10" in renal.unsupportedSlicerMessage(5, 8) and "5.8" in renal.unsupportedSlicerMessage(5, 8)
    assert renal.unsupportedSlicerMessage(4, 13) is not None
    assert renal.unsupportedSlicerMessage(5, 10) is None and renal.unsupportedSlicerMessage(6, 0) is None


def test_sample_data_checksums_match_the_bundled_files():
    for entry in DEMO_FILES:
        assert hashlib.sha256(entry.path().read_bytes()).hexdigest() == entry.sha256, entry.file_name
        assert entry.checksum().startswith("SHA256:")
    from RenalMassAILib.case.phase_detection import phase_from_name

    assert {phase_from_name(entry.node_name).value for entry in DEMO_FILES} == {"N", "A", "V"}


def _analyze_arterial_phantom(renal, app):
    """(case, logic, params, analyzed): a small arterial phantom analyzed at a center placed on its tumor,
    without a segmentation (so with a fixed-field classifier: the bundled one sizes its field to the mass)."""
    case = phantom(seed=11, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), side="left", pole="mid")
    add_ct_volume(app.scene, case.images[Phase.ARTERIAL], "arterial")
    logic = renal.createLogic()
    params = logic.getParameterNode()
    logic.assignPhases(params)
    params.malignancyModel = params.aggressivenessModel = str(fixed_field_classifier())
    params.tumorCenter = markers.add_center_fiducial(app.scene, _ras(case))
    return case, logic, params, logic.analyze(params)


class _DicomDatabase:
    """Slicer's DICOM database (ctkDICOMDatabase) as far as the export reads it: `isOpen` and
    `fileForInstance` (a SOP Instance UID's file, '' when the database does not know it)."""

    isOpen = True

    def __init__(self, folder: Path):
        self.files = {
            str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID): str(path)
            for path in sorted(folder.iterdir())
        }

    def fileForInstance(self, uid: str) -> str:
        return self.files.get(uid, "")


def test_export_writes_dicom_results_in_the_study_of_a_volume_loaded_from_dicom(module, tmp_path):
    """A volume as Slicer's DICOMScalarVolumePlugin leaves it (HU, geometry, `DICOM.instanceUIDs`),
    its files found through the DICOM database: SEG, SR, captures and PDF land in its study."""
    from test_dicom_export import dciodvfy_errors

    from RenalMassAILib.case.reading import read_image
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.phantom.dicom_export import write_dicom_series
    from RenalMassAILib.scene.dicom_export import INSTANCE_UIDS_ATTRIBUTE, source_series
    from RenalMassAILib.scene.segmentation import add_segmentation

    renal, app = module
    case = phantom(seed=11, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), side="left", pole="mid")
    folder = write_dicom_series(
        case.images[Phase.ARTERIAL],
        tmp_path / "series",
        "Arterial 4mm",
        "Iohexol",
        "100035",
        2,
        study_uid="1.2.826.0.1.3680043.10.1462.88",
        patient_name="Doe^Jane",
    )
    database = _DicomDatabase(folder)
    image, _ = read_image(folder)
    volume = add_ct_volume(app.scene, image, "2: Arterial 4mm")
    volume.SetAttribute(INSTANCE_UIDS_ATTRIBUTE, " ".join(database.files))
    logic = renal.createLogic()
    params = logic.getParameterNode()
    params.arterialVolume = volume
    label_map = to_label_map(case.labels, image)
    params.segmentation = add_segmentation(app.scene, label_map, volume, "segmentation")

    # Refused with one line before anything is written: no open database, an instance it does not know.
    with pytest.raises(InputError, match="DICOM database is not open"):
        source_series(volume, image, None)
    partial = _DicomDatabase(folder)
    partial.files.pop(next(iter(partial.files)))
    with pytest.raises(InputError, match="1 of the 24 slices of volume '2: Arterial 4mm' are not in Slicer's DICOM"):
        source_series(volume, image, partial)

    analyzed = logic.analyze(params)
    try:
        params.outputFolder = str(tmp_path / "export")
        report = logic.export(app, analyzed, params)
        manifest = logic.exportDicom(analyzed, params, report, database)
    finally:
        analyzed.close()
    out = tmp_path / "export" / "dicom"
    modalities = [entry["modality"] for entry in manifest["objects"]]
    assert modalities == ["SEG", "SR", *["OT"] * len(json.loads(report.read_text())["screenshots"]), "DOC"]
    assert manifest["source_study"]["reference_series_uid"] == "1.2.826.0.1.3680043.10.1462.88.2"
    for entry in manifest["objects"]:
        dataset = pydicom.dcmread(out / entry["file"])
        assert dataset.StudyInstanceUID == "1.2.826.0.1.3680043.10.1462.88", entry["file"]
        assert str(dataset.PatientName) == "Doe^Jane" and dataset.Modality == entry["modality"], entry["file"]
        assert not dciodvfy_errors(out / entry["file"]), entry["file"]
    seg = pydicom.dcmread(out / "segmentation.dcm")
    referenced = {item.ReferencedSOPInstanceUID for item in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence}
    assert referenced == set(database.files)  # every slice of the volume, found through the database
    tumor = next(s.SegmentNumber for s in seg.SegmentSequence if s.SegmentLabel == "Renal tumor")
    frames = seg.pixel_array.reshape(-1, *seg.pixel_array.shape[-2:])
    tumor_voxels = sum(
        int(frame.sum())
        for frame, group in zip(frames, seg.PerFrameFunctionalGroupsSequence)
        if group.SegmentIdentificationSequence[0].ReferencedSegmentNumber == tumor
    )
    assert tumor_voxels == int((sitk.GetArrayViewFromImage(label_map.image) == label_map.value("tumor")).sum()) > 0

    # A volume not loaded from DICOM: the PDF only, and the manifest says why.
    volume.RemoveAttribute(INSTANCE_UIDS_ATTRIBUTE)
    analyzed = logic.analyze(params)
    try:
        params.outputFolder = str(tmp_path / "nifti-export")
        manifest = logic.exportDicom(analyzed, params, logic.export(app, analyzed, params), database)
    finally:
        analyzed.close()
    assert manifest["objects"] == [] and manifest["source_study"] is None
    assert (tmp_path / "nifti-export" / "dicom" / "summary.pdf").is_file()
