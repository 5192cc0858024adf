"""RenalMassAI: 3D Slicer module (thin: Qt widget + glue calls; all logic is in RenalMassAILib)."""

import importlib.util
import logging
import tempfile
from pathlib import Path
from typing import Annotated

import qt
import slicer
import vtk
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (ScriptedLoadableModule, ScriptedLoadableModuleLogic,
                                           ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from RenalMassAILib.resources import resources_dir

# Imported by the library lazily; installed on first use (torch through the PyTorch extension).
REQUIRED_MODULES = ("torch", "nnunetv2", "pytorch_grad_cam", "safetensors", "sklearn", "skimage", "matplotlib")
REFRESH_POLL_MS = 100


class RenalMassAI(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "RenalMassAI"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["RenalMassAI developers"]
        self.parent.helpText = (
            "Multi-phase CT renal mass analysis (Xiong et al., Nat Commun 2025): segment kidney, tumor and cyst "
            "with nnU-Net, drag the tumor centre, and get the probabilities that the mass is malignant and "
            "aggressive with Grad-CAM heat maps, annotated screenshots and a report. "
            "Research use only, not for clinical decisions.")
        self.parent.acknowledgementText = "Method: Xiong, Yao, Lin et al., Nature Communications 16, 1425 (2025)."
        self.parent.icon = qt.QIcon(str(resources_dir() / "Icons" / "RenalMassAI.png"))


@parameterNodeWrapper
class RenalMassAIParameterNode:
    # inputs
    nonContrastVolume: slicer.vtkMRMLScalarVolumeNode
    arterialVolume: slicer.vtkMRMLScalarVolumeNode
    venousVolume: slicer.vtkMRMLScalarVolumeNode
    segmentation: slicer.vtkMRMLSegmentationNode
    tumorCenter: slicer.vtkMRMLMarkupsFiducialNode
    # models ("" = the installed or bundled one)
    segmentationModel: str = ""
    malignancyModel: str = ""
    aggressivenessModel: str = ""
    # options
    preprocessing: Annotated[str, Choice(["authors-code", "paper"])] = "authors-code"
    register: bool = False
    overlayTask: Annotated[str, Choice(["malignancy", "aggressiveness"])] = "malignancy"
    overlayOpacity: Annotated[float, WithinRange(0.0, 1.0)] = 0.4
    # outputs
    voi: slicer.vtkMRMLMarkupsROINode
    resultsTable: slicer.vtkMRMLTableNode
    outputFolder: str = ""


class RenalMassAIWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._job = None
        self._caseScene = None
        self._timer = qt.QTimer()
        self._timer.setInterval(REFRESH_POLL_MS)
        self._timer.connect("timeout()", self.onPoll)

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(str(resources_dir() / "UI" / "RenalMassAI.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = RenalMassAILogic()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.autoAssignButton.connect("clicked(bool)", self.onAutoAssign)
        self.ui.segmentButton.connect("clicked(bool)", self.onSegment)
        self.ui.cancelButton.connect("clicked(bool)", self.onCancel)
        self.ui.placeCenterButton.connect("clicked(bool)", self.onPlaceCenter)
        self.ui.analyzeButton.connect("clicked(bool)", self.onAnalyze)
        self.ui.exportButton.connect("clicked(bool)", self.onExport)
        self.ui.opacitySlider.connect("valueChanged(double)", self.onOverlayChanged)
        self.ui.overlayTaskComboBox.connect("currentIndexChanged(int)", self.onOverlayChanged)
        self.ui.cancelButton.enabled = False
        self.initializeParameterNode()

    def cleanup(self):
        self._timer.stop()
        if self._job is not None:
            self._job.cancel()
        if self._caseScene is not None:
            self._caseScene.close()
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None

    def onSceneStartClose(self, caller, event):
        self.setParameterNode(None)
        if self._caseScene is not None:
            self._caseScene.close()
            self._caseScene = None

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, inputParameterNode):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)

    # --- dependencies ---------------------------------------------------------------------------

    def ensureDependencies(self) -> bool:
        missing = self.logic.missingDependencies()
        if not missing:
            return True
        if not slicer.util.confirmOkCancelDisplay(
                "RenalMassAI needs these Python packages: " + ", ".join(missing) + ".\n"
                "PyTorch comes from the PyTorch extension; the others are installed with pip without replacing "
                "Slicer's own numpy, SimpleITK or VTK. This may take several minutes. Install now?"):
            return False
        with slicer.util.tryWithErrorDisplay("Installing the dependencies failed.", waitCursor=True):
            self.logic.installDependencies()
            return True
        return False

    # --- actions --------------------------------------------------------------------------------

    def onAutoAssign(self):
        with slicer.util.tryWithErrorDisplay("Assigning the phases failed.", waitCursor=True):
            assigned = self.logic.assignPhases(self._parameterNode)
            self.ui.statusLabel.text = ("Assigned: " + ", ".join(f"{phase} = {node.GetName()}" for phase, node in assigned.items())
                                        if assigned else "No volume name names a phase; choose the phases by hand.")

    def onSegment(self):
        if not self.ensureDependencies():
            return
        with slicer.util.tryWithErrorDisplay("Starting the segmentation failed.", waitCursor=True):
            self._job = self.logic.startSegmentation(self._parameterNode)
            self._job.watch()
            self.ui.segmentationProgressBar.visible = True
            self.ui.segmentationProgressBar.value = 0
            self.ui.segmentButton.enabled = False
            self.ui.cancelButton.enabled = True
            self.ui.statusLabel.text = "Segmenting..."
            self._timer.start()

    def onCancel(self):
        if self._job is not None:
            self._job.cancel()
            self._job = None
        self._segmentationEnded("Segmentation cancelled.")

    def _segmentationEnded(self, text: str):
        self.ui.segmentButton.enabled = True
        self.ui.cancelButton.enabled = False
        self.ui.segmentationProgressBar.visible = False
        self.ui.statusLabel.text = text

    def onPlaceCenter(self):
        with slicer.util.tryWithErrorDisplay("Placing the tumor centre failed.", waitCursor=True):
            self.ui.statusLabel.text = self.logic.placeOrResetCenter(self._parameterNode)

    def onAnalyze(self):
        if not self.ensureDependencies():
            return
        with slicer.util.tryWithErrorDisplay("Analysis failed.", waitCursor=True):
            if self._caseScene is not None:
                self._caseScene.close()
            self._caseScene = None
            self._caseScene = self.logic.analyze(self._parameterNode, onError=self._onRefreshError)
            self.ui.resultsTableView.setMRMLTableNode(self._parameterNode.resultsTable)
            self._showResults()
            self._timer.start()

    def onOverlayChanged(self, *_):
        # Read the widgets: this slot may run before the parameter node has taken the new value.
        if self._caseScene is not None and self.ui.overlayTaskComboBox.currentText:
            self.logic.showOverlay(self._caseScene, self.ui.overlayTaskComboBox.currentText, self.ui.opacitySlider.value)

    def onExport(self):
        with slicer.util.tryWithErrorDisplay("Export failed.", waitCursor=True):
            if self._caseScene is None:
                raise ValueError("Analyze the case first.")
            report = self.logic.export(self._caseScene, self._parameterNode)
            self.ui.statusLabel.text = f"Wrote {report} with screenshots and summary.html"

    def onPoll(self):
        """Progress of the segmentation worker and results of centre moves, without blocking."""
        if self._job is not None:
            for message in self._job.messages():
                self._onSegmentationMessage(message)
        if self._caseScene is not None:
            if self._caseScene.refresher.apply_finished() is not None:
                self._showResults()
            elif self._caseScene.refresher.busy:
                self.ui.statusLabel.text = "Updating for the new tumor centre..."
        if self._job is None and self._caseScene is None:
            self._timer.stop()

    def _onSegmentationMessage(self, message):
        stage = message.get("stage")
        if message.get("steps"):
            self.ui.segmentationProgressBar.maximum = message["steps"]
            self.ui.segmentationProgressBar.value = message.get("step", 0)
        if stage == "error":
            self._job = None
            self._segmentationEnded("Segmentation failed.")
            slicer.util.errorDisplay(f"Segmentation failed: {message.get('message')}")
        elif stage == "done":
            job, self._job = self._job, None
            with slicer.util.tryWithErrorDisplay("Loading the segmentation failed.", waitCursor=True):
                self.logic.loadSegmentation(self._parameterNode, job)
            self._segmentationEnded("Segmentation finished.")
        else:
            self.ui.statusLabel.text = f"Segmenting: {message.get('message', stage)}"

    def _onRefreshError(self, error):
        self.ui.statusLabel.text = f"Update failed: {error}"

    def _showResults(self):
        analysis = self._caseScene.analysis
        if analysis is None:
            return
        self.ui.demoLabel.visible = analysis.demo
        self.ui.resultLabel.text = self.logic.describe(analysis)
        self.ui.statusLabel.text = ""
        self.onOverlayChanged()


class RenalMassAILogic(ScriptedLoadableModuleLogic):
    """Raises on bad input, never opens dialogs: usable from scripts and tests. Everything it does
    with the scene goes through RenalMassAILib.scene (tested on slicer-core outside Slicer)."""

    def getParameterNode(self):
        return RenalMassAIParameterNode(super().getParameterNode())

    # --- dependencies ---------------------------------------------------------------------------

    @staticmethod
    def missingDependencies() -> list[str]:
        return [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]

    def installDependencies(self):
        if importlib.util.find_spec("torch") is None:
            import PyTorchUtils  # from the PyTorch extension (EXTENSION_DEPENDS)
            if PyTorchUtils.PyTorchUtilsLogic().installTorch(askConfirmation=False, torchVersionRequirement=">=2.3") is None:
                raise RuntimeError("PyTorch could not be installed; install it with the PyTorch extension's module")
        with tempfile.TemporaryDirectory() as folder:
            constraints = Path(folder) / "constraints.txt"
            constraints.write_text(self._slicerPackagePins())
            requirements = resources_dir() / "requirements-slicer.txt"
            slicer.util.pip_install(["-r", str(requirements), "-c", str(constraints)])

    @staticmethod
    def _slicerPackagePins() -> str:
        """Pins Slicer's own numpy / SimpleITK / VTK, so no requirement can replace them."""
        from importlib.metadata import PackageNotFoundError, version
        pins = []
        for name in ("numpy", "SimpleITK", "vtk"):
            try:
                pins.append(f"{name}=={version(name)}")
            except PackageNotFoundError:
                continue
        return "\n".join(pins) + "\n"

    # --- inputs ---------------------------------------------------------------------------------

    def assignPhases(self, parameters) -> dict:
        """Fills empty phase selectors from the names of the scene's scalar volumes."""
        from RenalMassAILib.case.phase_detection import phase_from_name
        from RenalMassAILib.scene.parameters import PHASE_REFERENCE
        assigned = {}
        for node in slicer.util.getNodesByClass("vtkMRMLScalarVolumeNode"):
            if node.IsA("vtkMRMLLabelMapVolumeNode") or node.GetAttribute("RenalMassAI.role"):
                continue
            phase = phase_from_name(node.GetName())
            if phase is None or phase.value in assigned:
                continue
            attribute = PHASE_REFERENCE[phase.value]
            if getattr(parameters, attribute) is None:
                setattr(parameters, attribute, node)
                assigned[phase.value] = node
        return assigned

    def _volumes(self, parameters) -> dict:
        from RenalMassAILib.errors import InputError
        volumes = {"N": parameters.nonContrastVolume, "A": parameters.arterialVolume, "V": parameters.venousVolume}
        volumes = {phase: node for phase, node in volumes.items() if node is not None}
        if not volumes:
            raise InputError("select at least one phase volume (non-contrast, arterial or venous)")
        return volumes

    def _case(self, parameters):
        from RenalMassAILib.case.case import Case
        from RenalMassAILib.case.phase import Phase
        from RenalMassAILib.case.validation import check_ct_image
        from RenalMassAILib.scene.volumes import volume_to_image
        images, sources = {}, {}
        for letter, node in self._volumes(parameters).items():
            phase = Phase(letter)
            images[phase] = volume_to_image(node)
            check_ct_image(images[phase], f"{phase.long_name} volume {node.GetName()!r}")
            sources[phase] = node.GetName()
        case = Case(images, sources)
        return Case(images, sources, sources[case.reference_phase])

    # --- segmentation ---------------------------------------------------------------------------

    def startSegmentation(self, parameters):
        from RenalMassAILib.workers.segmentation_job import SegmentationJob
        from RenalMassAILib.present.coordinates import ras_to_lps
        from RenalMassAILib.resources import demo_segmentation_model
        from RenalMassAILib.scene.markers import center_of
        case = self._case(parameters)
        model = parameters.segmentationModel or str(demo_segmentation_model())
        center = None
        if parameters.tumorCenter is not None and parameters.tumorCenter.GetNumberOfControlPoints() > 0:
            center = ras_to_lps(center_of(parameters.tumorCenter))
        self._segmentationCase = case
        output = Path(tempfile.mkdtemp(prefix="renalmassai-labels-")) / "labels.nii.gz"
        return SegmentationJob({p.value: image for p, image in case.images.items()}, model, output, center,
                               python=self._pythonExecutable())

    @staticmethod
    def _pythonExecutable() -> str:
        import shutil
        found = shutil.which("PythonSlicer", path=str(Path(slicer.app.slicerHome) / "bin"))
        return found or shutil.which("PythonSlicer")

    def loadSegmentation(self, parameters, job):
        """The worker's label map into a segmentation node (the selected one, else a new one)."""
        import shutil

        from RenalMassAILib.lesion.label_map import read_label_map
        from RenalMassAILib.scene.segmentation import add_segmentation, fill_segmentation
        output = Path(job.result["output"]) if job.result and job.result.get("output") else None
        if output is None or not output.exists():
            raise RuntimeError("the segmentation worker wrote no label map")
        try:
            case = self._segmentationCase
            labelMap = read_label_map(output, case.reference)
        finally:  # the label map is patient data too
            shutil.rmtree(output.parent, ignore_errors=True)
        reference = self._volumes(parameters)[case.reference_phase.value]
        if parameters.segmentation is None:
            parameters.segmentation = add_segmentation(slicer.mrmlScene, labelMap, reference,
                                                       f"{reference.GetName()} segmentation")
        else:
            parameters.segmentation.SetReferenceImageGeometryParameterFromVolumeNode(reference)
            fill_segmentation(parameters.segmentation, labelMap)
        return parameters.segmentation

    # --- tumour centre --------------------------------------------------------------------------

    def placeOrResetCenter(self, parameters) -> str:
        from RenalMassAILib.present.coordinates import lps_to_ras
        from RenalMassAILib.scene import markers
        if parameters.tumorCenter is None:
            parameters.tumorCenter = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", markers.CENTER_NAME)
            parameters.tumorCenter.CreateDefaultDisplayNodes()
        center = parameters.tumorCenter
        if parameters.segmentation is not None:
            prepared = self._prepare(parameters, useCenter=False)
            ras = lps_to_ras(prepared.center_lps)
            if center.GetNumberOfControlPoints() == 0:
                center.AddControlPoint(vtk.vtkVector3d(*ras), markers.CENTER_NAME)
            else:
                markers.move_center(center, ras)
            center.SetMaximumNumberOfControlPoints(1)
            return "Tumor centre set to the centre of the segmented tumor."
        center.RemoveAllControlPoints()
        center.SetMaximumNumberOfControlPoints(1)
        slicer.modules.markups.logic().SetActiveList(center)
        slicer.modules.markups.logic().StartPlaceMode(False)
        return "Click on the tumor in a slice view to place its centre."

    # --- analysis -------------------------------------------------------------------------------

    def _prepare(self, parameters, useCenter: bool = True):
        from RenalMassAILib.classify.preprocessing import preset
        from RenalMassAILib.prepare import prepare_case
        from RenalMassAILib.present.coordinates import ras_to_lps
        from RenalMassAILib.scene.markers import center_of
        from RenalMassAILib.scene.segmentation import label_map_from_segmentation
        case = self._case(parameters)
        labelMap = None
        if parameters.segmentation is not None:
            reference = self._volumes(parameters)[case.reference_phase.value]
            labelMap = label_map_from_segmentation(parameters.segmentation, reference, case.reference)
        center = None
        fiducial = parameters.tumorCenter
        if useCenter and fiducial is not None and fiducial.GetNumberOfControlPoints() > 0:
            center = ras_to_lps(center_of(fiducial))
        self._labelMap = labelMap
        return prepare_case(case, preset(parameters.preprocessing), labelMap, center,
                            "rigid" if parameters.register else "world")

    def analyze(self, parameters, onError=None):
        """Builds the case scene on the user's nodes and analyses at the tumor centre; the returned
        CaseScene refreshes by itself when the centre moves (poll `refresher.apply_finished()`)."""
        from RenalMassAILib.pipeline import Analyzer
        from RenalMassAILib.scene.case_scene import CaseNodes, CaseScene
        prepared = self._prepare(parameters)
        analyzer = Analyzer(prepared, {"malignancy": parameters.malignancyModel or None,
                                       "aggressiveness": parameters.aggressivenessModel or None})
        existing = CaseNodes(self._volumes(parameters), parameters.segmentation, parameters.tumorCenter, None)
        if parameters.voi is not None:
            slicer.mrmlScene.RemoveNode(parameters.voi)
        caseScene = CaseScene(slicer.mrmlScene, prepared, analyzer, self._labelMap, onError, existing)
        caseScene.analyze()  # the glue fills the same parameter node (VOI, results table)
        parameters.tumorCenter = caseScene.nodes.center
        return caseScene

    def showOverlay(self, caseScene, task: str, opacity: float):
        from RenalMassAILib.scene import heatmaps
        heat = caseScene.heatmap(task)
        if heat is None:
            return
        phase = next(p for (t, p), node in caseScene.nodes.heatmaps.items() if node is heat)
        composites = [slicer.app.layoutManager().sliceWidget(name).mrmlSliceCompositeNode()
                      for name in slicer.app.layoutManager().sliceViewNames()]
        heatmaps.show_overlay(composites, caseScene.nodes.volumes[phase], heat, opacity)

    def export(self, caseScene, parameters) -> Path:
        from RenalMassAILib.scene.export import export_case
        from RenalMassAILib.scene.scene_app import SceneApp
        if not parameters.outputFolder:
            raise ValueError("choose an output folder for the screenshots and the report")
        return export_case(SceneApp.from_slicer(), caseScene, Path(parameters.outputFolder), self._labelMap)

    @staticmethod
    def describe(analysis) -> str:
        from RenalMassAILib.scene.screenshots import findings_lines, model_line
        centre = ", ".join(f"{c:.1f}" for c in analysis.center_lps)
        return "\n".join([*findings_lines(analysis), model_line(analysis),
                          f"Tumor centre (LPS mm): {centre} ({analysis.center_source})"])


class RenalMassAITest(ScriptedLoadableModuleTest):
    """The whole workflow on a phantom inside Slicer: assign phases, segment (demo nnU-Net, worker
    process), analyse, move the centre (results refresh), export screenshots and the report."""

    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_workflow_on_phantom()

    def test_workflow_on_phantom(self):
        import time

        import sitkUtils

        from RenalMassAILib.case.phase import Phase
        from RenalMassAILib.phantom import PhantomSpec, make_phantom
        from RenalMassAILib.scene import markers
        from RenalMassAILib.scene.results_table import table_rows

        self.delayDisplay("Making a phantom case")
        phantom = make_phantom(PhantomSpec(seed=3, size=(128, 128, 48), spacing=(2.0, 2.0, 3.0)))
        for phase in (Phase.ARTERIAL, Phase.VENOUS):
            sitkUtils.PushVolumeToSlicer(phantom.images[phase], name=f"phantom {phase.long_name}")
        logic = RenalMassAILogic()
        self.assertFalse(logic.missingDependencies())
        parameters = logic.getParameterNode()
        self.assertEqual(set(logic.assignPhases(parameters)), {"A", "V"})

        self.delayDisplay("Segmenting with the demo nnU-Net model")
        job = logic.startSegmentation(parameters)
        for _ in job.progress():
            pass
        segmentation = logic.loadSegmentation(parameters, job)
        names = {segmentation.GetSegmentation().GetNthSegment(i).GetName()
                 for i in range(segmentation.GetSegmentation().GetNumberOfSegments())}
        self.assertIn("Renal tumor", names)

        self.delayDisplay("Analysing")
        logic.placeOrResetCenter(parameters)
        caseScene = logic.analyze(parameters)
        first = table_rows(parameters.resultsTable)
        self.assertEqual({row["task"] for row in first}, {"malignancy", "aggressiveness"})

        self.delayDisplay("Moving the tumor centre")
        start = markers.center_of(parameters.tumorCenter)
        markers.move_center(parameters.tumorCenter, (start[0] + 6.0, start[1], start[2]))
        deadline = time.time() + 60
        while caseScene.refresher.busy and time.time() < deadline:
            slicer.app.processEvents()
            time.sleep(0.05)
        caseScene.refresher.apply_finished()
        moved = table_rows(parameters.resultsTable)
        self.assertEqual(moved[0]["center_source"], "user")
        self.assertNotEqual(moved[0]["probability"], first[0]["probability"])

        self.delayDisplay("Exporting")
        with tempfile.TemporaryDirectory() as folder:
            parameters.outputFolder = folder
            report = logic.export(caseScene, parameters)
            self.assertTrue(report.exists())
            for name in ("axial", "coronal", "sagittal", "3d"):
                self.assertTrue((Path(folder) / "screenshots" / f"{name}.png").exists())
        caseScene.close()
        logging.info(logic.describe(caseScene.analysis))
        self.delayDisplay("Test passed")
