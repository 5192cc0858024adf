"""RenalMassAI: the 3D Slicer module. Thin: the Qt widget and Slicer's application services (dialogs,
pip, the layout's views); what the controls do is RenalMassAILib.scene.module_logic.

This file must load on any Slicer so that an unsupported one gets a clear message: it uses no syntax
newer than Python 3.9 (Slicer 5.8) and imports RenalMassAILib (Python >= 3.10) only after the
version check.
"""

import contextlib
import importlib.util
import logging
import tempfile
import traceback
from pathlib import Path
from typing import Annotated, Optional

import qt
import slicer
import vtk
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleTest,
    ScriptedLoadableModuleWidget,
)
from slicer.util import VTKObservationMixin

MINIMUM_SLICER_VERSION = (5, 10)  # Python 3.12, the terminology API the segments use
REFRESH_POLL_MS = 100
TORCH_REQUIREMENT = ">=2.3"
NNUNET_REQUIREMENT = "nnunetv2>=2.5,<3"


def unsupportedSlicerMessage(major: int, minor: int) -> Optional[str]:
    """The message for a Slicer older than MINIMUM_SLICER_VERSION, else None."""
    if (major, minor) >= MINIMUM_SLICER_VERSION:
        return None
    return _(
        "RenalMassAI needs 3D Slicer {minimum} or later (this is {version}). Install a current Slicer "
        "from download.slicer.org."
    ).format(minimum="{}.{}".format(*MINIMUM_SLICER_VERSION), version=f"{major}.{minor}")


def _slicerProblem() -> Optional[str]:
    return unsupportedSlicerMessage(slicer.app.majorVersion, slicer.app.minorVersion)


class RenalMassAI(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("RenalMassAI")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Segmentation")]
        self.parent.dependencies = []
        self.parent.contributors = ["RenalMassAI developers"]
        self.parent.helpText = _(
            "Multi-phase CT renal mass analysis (Xiong et al., Nat Commun 2025): segment kidney, tumor and cyst "
            "with nnU-Net, drag the tumor center, and get the probabilities that the mass is malignant and "
            "aggressive with Grad-CAM heat maps, annotated screenshots and a report. "
            "Research use only, not for clinical decisions."
        )
        self.parent.acknowledgementText = _("Method: Xiong, Yao, Lin et al., Nature Communications 16, 1425 (2025).")
        problem = _slicerProblem()
        if problem:
            self.parent.helpText = problem
            logging.error(problem)
            return
        from RenalMassAILib.resources import resources_dir

        self.parent.icon = qt.QIcon(str(resources_dir() / "Icons" / "RenalMassAI.png"))
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData():
    """The bundled demo phantom in the SampleData module (checked against its SHA-256 digests)."""
    import SampleData

    from RenalMassAILib.resources import resources_dir
    from RenalMassAILib.scene import sample_data

    SampleData.SampleDataLogic.registerCustomSampleDataSource(
        category=sample_data.CATEGORY,
        sampleName=sample_data.SAMPLE_NAME,
        thumbnailFileName=str(resources_dir() / "Icons" / "RenalMassAI.png"),
        uris=[entry.path().as_uri() for entry in sample_data.DEMO_FILES],
        fileNames=[entry.file_name for entry in sample_data.DEMO_FILES],
        nodeNames=[entry.node_name for entry in sample_data.DEMO_FILES],
        checksums=[entry.checksum() for entry in sample_data.DEMO_FILES],
    )  # volumes: SampleData's default reader


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
    segmentationInt8: bool = False  # the network's passes in OpenVINO INT8 (CPU only; faster, a little less exact)
    preprocessing: Annotated[str, Choice(["authors-code", "paper", "lesion-field"])] = "authors-code"
    register: bool = False
    overlayTask: Annotated[str, Choice(["malignancy", "aggressiveness"])] = "malignancy"
    overlayOpacity: Annotated[float, WithinRange(0.0, 1.0)] = 0.4
    # outputs
    voi: slicer.vtkMRMLMarkupsROINode
    resultsTable: slicer.vtkMRMLTableNode
    outputFolder: str = ""


def createLogic():
    """The module's Logic on Slicer's scene (the segmentation worker runs in PythonSlicer)."""
    import shutil

    from RenalMassAILib.scene.module_logic import RenalMassAILogic

    python = shutil.which("PythonSlicer", path=str(Path(slicer.app.slicerHome) / "bin")) or shutil.which("PythonSlicer")
    return RenalMassAILogic(slicer.mrmlScene, slicer.app.applicationLogic(), RenalMassAIParameterNode, python)


def installDependencies():
    """torch through the PyTorch extension, nnunetv2 through SlicerNNUnet's installer when that
    extension is there, the rest from requirements-slicer.txt; Slicer's numpy / SimpleITK / VTK and
    the installed torch are held by a constraints file."""
    from RenalMassAILib.scene import dependencies

    if importlib.util.find_spec("torch") is None:
        import PyTorchUtils  # the PyTorch extension (EXTENSION_DEPENDS)

        if (
            PyTorchUtils.PyTorchUtilsLogic().installTorch(
                askConfirmation=False, torchVersionRequirement=TORCH_REQUIREMENT
            )
            is None
        ):
            raise RuntimeError(_("PyTorch could not be installed; install it with the PyTorch module and restart."))
    if importlib.util.find_spec("nnunetv2") is None and importlib.util.find_spec("SlicerNNUNetLib") is not None:
        from SlicerNNUNetLib import InstallLogic  # the NNUNet extension (EXTENSION_DEPENDS)

        InstallLogic(doAskConfirmation=False).setupPythonRequirements(NNUNET_REQUIREMENT)
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text(dependencies.constraints_text())
        requirements = dependencies.requirements_file()
        try:
            import slicer.packaging as packaging  # Slicer >= 5.12
        except ImportError:
            packaging = None
        if packaging is not None and hasattr(packaging, "pip_ensure"):
            packaging.pip_ensure(
                packaging.load_requirements(requirements),
                constraints=str(constraints),
                prompt_install=False,
                requester="RenalMassAI",
                skip_in_testing=False,
            )
        else:  # Slicer 5.10
            slicer.util.pip_install(["-r", str(requirements), "-c", str(constraints)])


def openDicomDatabase():
    """Slicer's DICOM database (ctkDICOMDatabase), or None when none is open."""
    database = getattr(slicer, "dicomDatabase", None)
    return database if database is not None and database.isOpen else None


def layoutApp():
    """Slicer's scene and layout views for the screenshots (see RenalMassAILib.scene.layout_views)."""
    from RenalMassAILib.scene.layout_views import LayoutApp, SliceViewParts, ThreeDViewParts

    layoutManager = slicer.app.layoutManager()
    sliceViews = {}
    for name in ("Red", "Yellow", "Green"):
        widget = layoutManager.sliceWidget(name)
        view = widget.sliceView()
        sliceViews[name] = SliceViewParts(
            widget.mrmlSliceNode(), widget.sliceLogic(), view.renderWindow(), view.forceRender
        )
    threeD = layoutManager.threeDWidget(0).threeDView()
    window = threeD.renderWindow()
    threeDParts = ThreeDViewParts(
        threeD.mrmlViewNode(), window.GetRenderers().GetFirstRenderer(), window, threeD.forceRender
    )
    return LayoutApp(
        slicer.mrmlScene,
        slicer.app.applicationLogic(),
        sliceViews,
        threeDParts,
        layoutManager.layoutLogic().GetLayoutNode(),
        slicer.app.processEvents,
    )


class RenalMassAIWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self.ui = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None
        self._segmentation = None  # SegmentationTask: the running segmentation, if any
        self._analyzed = None  # AnalyzedCase: the case scene that follows the center
        self._observedCenter = None
        self._timer = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        problem = _slicerProblem()
        if problem:
            label = qt.QLabel(problem)
            label.wordWrap = True
            self.layout.addWidget(label)
            self.layout.addStretch(1)
            return
        from RenalMassAILib.resources import resources_dir
        from RenalMassAILib.scene.segmentation_task import SegmentationTask

        uiWidget = slicer.util.loadUI(str(resources_dir() / "UI" / "RenalMassAI.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = createLogic()
        self._segmentation = SegmentationTask(self.logic, slicer.mrmlScene)  # cancels itself when the scene closes
        self._timer = qt.QTimer()
        self._timer.setInterval(REFRESH_POLL_MS)
        self._timer.connect("timeout()", self.onPoll)
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
        self.initializeParameterNode()

    def cleanup(self):
        if self._timer is not None:
            self._timer.stop()
        if self._segmentation is not None:
            self._segmentation.close()
        self._closeAnalysis()
        self.removeObservers()

    def enter(self):
        if self.logic is not None:
            self.initializeParameterNode()

    def exit(self):
        self.setParameterNode(None)

    def onSceneStartClose(self, caller, event):
        self.setParameterNode(None)
        if self._segmentation is not None:
            self._segmentation.cancel()  # SegmentationTask does so too; whichever observer runs first
        self._closeAnalysis()
        self._checkCanApply()

    def onSceneEndClose(self, caller, event):
        if self.parent.isEntered:
            self.initializeParameterNode()

    def initializeParameterNode(self):
        self.setParameterNode(self.logic.getParameterNode())

    def setParameterNode(self, inputParameterNode):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None
            self.removeObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
        self._parameterNode = inputParameterNode
        if self._parameterNode:
            self._parameterNodeGuiTag = self._parameterNode.connectGui(self.ui)
            self.addObserver(self._parameterNode, vtk.vtkCommand.ModifiedEvent, self._checkCanApply)
        self._checkCanApply()

    # --- controls -------------------------------------------------------------------------------

    def _checkCanApply(self, caller=None, event=None):
        """Each button is enabled only when it can work now; the tooltips say what is missing."""
        if self.ui is None:
            return
        parameters = self._parameterNode
        running = self._segmentation is not None and self._segmentation.running
        hasPhase = parameters is not None and any(
            node is not None
            for node in (parameters.nonContrastVolume, parameters.arterialVolume, parameters.venousVolume)
        )
        self._observeCenter(parameters.tumorCenter if parameters is not None else None)
        hasCenter = self._observedCenter is not None and self._observedCenter.GetNumberOfControlPoints() > 0
        hasLesion = parameters is not None and (parameters.segmentation is not None or hasCenter)
        self.ui.segmentButton.enabled = hasPhase and not running
        self.ui.cancelButton.enabled = running
        self.ui.segmentationProgressBar.visible = running
        self.ui.placeCenterButton.enabled = hasPhase and not running
        self.ui.analyzeButton.enabled = hasPhase and hasLesion and not running
        self.ui.exportButton.enabled = (
            self._analyzed is not None and parameters is not None and bool(parameters.outputFolder)
        )
        self.ui.analyzeButton.toolTip = (
            _("Malignancy and aggressiveness probabilities with Grad-CAM at the tumor center")
            if self.ui.analyzeButton.enabled
            else _("Select a phase volume, and a segmentation or a placed tumor center")
        )
        self.ui.exportButton.toolTip = (
            _(
                "Annotated screenshots, Grad-CAM panels, report.json, summary.html and, for volumes loaded from DICOM, "
                "SEG, SR, secondary captures and PDF in the source study"
            )
            if self.ui.exportButton.enabled
            else _("Analyze first, and choose an output folder")
        )

    def _observeCenter(self, fiducial):
        """Placing or removing the point changes what Analyze can do: follow the current fiducial."""
        if fiducial is self._observedCenter:
            return
        if self._observedCenter is not None:
            for event in (
                slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent,
                slicer.vtkMRMLMarkupsNode.PointRemovedEvent,
            ):
                self.removeObserver(self._observedCenter, event, self._checkCanApply)
        self._observedCenter = fiducial
        if fiducial is not None:
            for event in (
                slicer.vtkMRMLMarkupsNode.PointPositionDefinedEvent,
                slicer.vtkMRMLMarkupsNode.PointRemovedEvent,
            ):
                self.addObserver(fiducial, event, self._checkCanApply)

    def _fieldLabel(self, field) -> str:
        """The widget that an InputError's field stands for, in this module's words."""
        labels = {
            "phases": _("Inputs"),
            "center": _("Tumor center"),
            "segmentation": _("Segmentation"),
            "outputFolder": _("Output folder"),
        }
        return labels.get(field, "")

    @contextlib.contextmanager
    def _reportingErrors(self, what: str, waitCursor: bool = True):
        """Shows an error in a dialog (InputError: one line naming the widget; else with the traceback)
        and does not re-raise, so the controls are always updated afterwards."""
        from RenalMassAILib.errors import InputError

        cursor = waitCursor
        if cursor:
            slicer.app.setOverrideCursor(qt.Qt.WaitCursor)
        try:
            yield
        except Exception as error:
            if cursor:
                slicer.app.restoreOverrideCursor()
                cursor = False
            self.ui.statusLabel.text = what
            if isinstance(error, InputError):
                label = self._fieldLabel(error.field)
                slicer.util.errorDisplay(f"{what}\n\n{label + ': ' if label else ''}{error}")
            else:
                logging.exception(what)
                slicer.util.errorDisplay(f"{what}\n\n{error}", detailedText=traceback.format_exc())
        finally:
            if cursor:
                slicer.app.restoreOverrideCursor()
            self._checkCanApply()

    # --- dependencies ---------------------------------------------------------------------------

    def ensureDependencies(self) -> bool:
        from RenalMassAILib.scene import dependencies

        missing = dependencies.missing_modules()
        if not missing:
            return True
        if not slicer.util.confirmOkCancelDisplay(
            _(
                "RenalMassAI needs these Python packages: {names}.\nPyTorch comes from the PyTorch extension; "
                "the others are installed with pip without replacing Slicer's own numpy, SimpleITK or VTK. "
                "This may take several minutes. Install now?"
            ).format(names=", ".join(missing))
        ):
            return False
        with self._reportingErrors(_("Installing the dependencies failed.")):
            installDependencies()
        return not dependencies.missing_modules()

    # --- actions --------------------------------------------------------------------------------

    def onAutoAssign(self):
        with self._reportingErrors(_("Assigning the phases failed.")):
            assigned = self.logic.assignPhases(self._parameterNode)
            self.ui.statusLabel.text = (
                _("Assigned: ") + ", ".join(f"{phase} = {node.GetName()}" for phase, node in assigned.items())
                if assigned
                else _("No volume name names a phase; choose the phases by hand.")
            )

    def onSegment(self):
        if not self.ensureDependencies():
            return
        with self._reportingErrors(_("Starting the segmentation failed.")):
            self._segmentation.start(self._parameterNode)
            self.ui.segmentationProgressBar.value = 0
            self.ui.statusLabel.text = _("Segmenting...")
            self._timer.start()

    def onCancel(self):
        self._segmentation.cancel()
        self.ui.statusLabel.text = _("Segmentation cancelled.")
        self._checkCanApply()

    def onPlaceCenter(self):
        with self._reportingErrors(_("Placing the tumor center failed.")):
            self.ui.statusLabel.text = self.logic.placeOrResetCenter(self._parameterNode)

    def onAnalyze(self):
        if not self.ensureDependencies():
            return
        with self._reportingErrors(_("Analysis failed.")):
            self._closeAnalysis()
            self._analyzed = self.logic.analyze(self._parameterNode, onError=self._onRefreshError)
            self.ui.resultsTableView.setMRMLTableNode(self._parameterNode.resultsTable)
            self._showResults()
            self._timer.start()

    def onOverlayChanged(self, *args):
        # Read the widgets: this slot may run before the parameter node has taken the new value.
        if self._analyzed is not None and self.ui.overlayTaskComboBox.currentText:
            self.logic.showOverlay(self._analyzed, self.ui.overlayTaskComboBox.currentText, self.ui.opacitySlider.value)

    def onExport(self):
        with self._reportingErrors(_("Export failed.")):
            from RenalMassAILib.scene.dicom_export import DICOM_FOLDER

            report = self.logic.export(layoutApp(), self._analyzed, self._parameterNode)
            manifest = self.logic.exportDicom(self._analyzed, self._parameterNode, report, openDicomDatabase())
            folder = report.parent / DICOM_FOLDER
            if manifest["objects"]:
                # Indexed in Slicer's DICOM database, the results sit under the patient and study in the
                # DICOM browser, from where the DICOM module sends them to PACS.
                from DICOMLib import DICOMUtils

                DICOMUtils.importDicom(str(folder))
                self.ui.statusLabel.text = _(
                    "Wrote {report}, and {count} DICOM objects in the source study to {folder} (added to the DICOM "
                    "database)"
                ).format(report=report, count=len(manifest["objects"]), folder=folder)
            else:
                self.ui.statusLabel.text = _(
                    "Wrote {report} and {folder}/summary.pdf (the volumes were not loaded from DICOM: no DICOM objects)"
                ).format(report=report, folder=folder)

    def onPoll(self):
        """Segmentation progress and results of center moves, without blocking."""
        if self._segmentation.running:
            with self._reportingErrors(_("Segmentation failed."), waitCursor=False):  # polled: no cursor flicker
                for message in self._segmentation.poll():
                    self._showSegmentationProgress(message)
        if self._analyzed is not None:
            with self._reportingErrors(_("Updating the results failed."), waitCursor=False):
                refresher = self._analyzed.scene.refresher
                if refresher.apply_finished() is not None:
                    self._showResults()
                elif refresher.busy:
                    self.ui.statusLabel.text = _("Updating for the new tumor center...")
        if not self._segmentation.running and self._analyzed is None:
            self._timer.stop()

    def _showSegmentationProgress(self, message):
        if message.get("steps"):
            self.ui.segmentationProgressBar.maximum = message["steps"]
            self.ui.segmentationProgressBar.value = message.get("step", 0)
        if message.get("stage") == "done":
            self.ui.statusLabel.text = _("Segmentation finished.")
        else:
            self.ui.statusLabel.text = _("Segmenting: {what}").format(what=message.get("message", message.get("stage")))

    def _onRefreshError(self, error):
        self.ui.statusLabel.text = _("Update failed: {error}").format(error=error)

    def _closeAnalysis(self):
        if self._analyzed is not None:
            self._analyzed.close()
            self._analyzed = None

    def _showResults(self):
        analysis = self._analyzed.analysis if self._analyzed is not None else None
        if analysis is None:
            return
        self.ui.demoLabel.visible = analysis.demo
        self.ui.resultLabel.text = self.logic.describe(analysis)
        self.ui.statusLabel.text = ""
        self.onOverlayChanged()


class RenalMassAITest(ScriptedLoadableModuleTest):
    """The whole workflow on a phantom inside Slicer: install what is missing, assign phases, segment
    (demo nnU-Net, worker process), analyze, move the center (results refresh), export screenshots
    of the layout's views and the report."""

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
        from RenalMassAILib.scene import dependencies, markers
        from RenalMassAILib.scene.results_table import table_rows
        from RenalMassAILib.scene.segmentation_task import SegmentationTask

        self.assertIsNone(_slicerProblem())
        if dependencies.missing_modules():
            self.delayDisplay("Installing the dependencies")
            installDependencies()
        self.assertEqual(dependencies.missing_modules(), [])

        self.delayDisplay("Making a phantom case")
        phantom = make_phantom(PhantomSpec(seed=3, size=(128, 128, 48), spacing=(2.0, 2.0, 3.0)))
        for phase in (Phase.ARTERIAL, Phase.VENOUS):
            sitkUtils.PushVolumeToSlicer(phantom.images[phase], name=f"phantom {phase.long_name}")
        logic = createLogic()
        parameters = logic.getParameterNode()
        self.assertEqual(set(logic.assignPhases(parameters)), {"A", "V"})

        self.delayDisplay("Segmenting with the demo nnU-Net model")
        task = SegmentationTask(logic, slicer.mrmlScene)
        task.start(parameters)
        segmentation, deadline = None, time.time() + 600
        while task.running and time.time() < deadline:
            for message in task.poll():
                segmentation = message.get("segmentation", segmentation)
            slicer.app.processEvents()
            time.sleep(0.1)
        task.close()
        self.assertIsNotNone(segmentation)
        names = {
            segmentation.GetSegmentation().GetNthSegment(i).GetName()
            for i in range(segmentation.GetSegmentation().GetNumberOfSegments())
        }
        self.assertIn("Renal tumor", names)

        self.delayDisplay("Analyzing")
        logic.placeOrResetCenter(parameters)
        analyzed = logic.analyze(parameters)
        first = table_rows(parameters.resultsTable)
        self.assertEqual({row["task"] for row in first}, {"malignancy", "aggressiveness"})

        self.delayDisplay("Moving the tumor center")
        start = markers.center_of(parameters.tumorCenter)
        markers.move_center(parameters.tumorCenter, (start[0] + 6.0, start[1], start[2]))
        deadline = time.time() + 60
        while analyzed.scene.refresher.busy and time.time() < deadline:
            slicer.app.processEvents()
            time.sleep(0.05)
        analyzed.scene.refresher.apply_finished()
        moved = table_rows(parameters.resultsTable)
        self.assertEqual(moved[0]["center_source"], "user")
        self.assertNotEqual(moved[0]["probability"], first[0]["probability"])

        self.delayDisplay("Exporting from the layout's views")
        viewNodes = slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLAbstractViewNode")
        with tempfile.TemporaryDirectory() as folder:
            parameters.outputFolder = folder
            report = logic.export(layoutApp(), analyzed, parameters)
            self.assertTrue(report.exists())
            for name in ("axial", "coronal", "sagittal", "3d"):
                self.assertTrue((Path(folder) / "screenshots" / f"{name}.png").exists())
            manifest = logic.exportDicom(analyzed, parameters, report, openDicomDatabase())
            self.assertEqual(manifest["objects"], [])  # the sample volumes were not loaded from DICOM
            self.assertTrue((Path(folder) / "dicom" / "summary.pdf").exists())
        self.assertEqual(slicer.mrmlScene.GetNumberOfNodesByClass("vtkMRMLAbstractViewNode"), viewNodes)
        analyzed.close()
        logging.info(logic.describe(analyzed.analysis))
        self.delayDisplay("Test passed")
