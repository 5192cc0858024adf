"""RenalMassAI: 3D Slicer module (thin: Qt widget + glue calls; all logic is in RenalMassAILib)."""

import logging
from typing import Annotated

import slicer
import vtk
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (ScriptedLoadableModule, ScriptedLoadableModuleLogic,
                                           ScriptedLoadableModuleTest, ScriptedLoadableModuleWidget)
from slicer.util import VTKObservationMixin

from RenalMassAILib.resources import resources_dir


class RenalMassAI(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "RenalMassAI"
        self.parent.categories = ["Segmentation"]
        self.parent.dependencies = []
        self.parent.contributors = ["RenalMassAI developers"]
        self.parent.helpText = (
            "Multi-phase CT renal mass analysis (Xiong et al., Nat Commun 2025). Load the non-contrast, "
            "arterial and venous phases, give a segmentation (kidney 1, tumor 2, cyst 3) or place the tumour "
            "centre, and prepare the model inputs. Research use only, not for clinical decisions.")
        self.parent.acknowledgementText = "Method: Xiong, Yao, Lin et al., Nature Communications 16, 1425 (2025)."
        self.parent.icon = _qt_icon()


def _qt_icon():
    import qt
    return qt.QIcon(str(resources_dir() / "Icons" / "RenalMassAI.png"))


@parameterNodeWrapper
class RenalMassAIParameterNode:
    nonContrastVolume: slicer.vtkMRMLScalarVolumeNode
    arterialVolume: slicer.vtkMRMLScalarVolumeNode
    venousVolume: slicer.vtkMRMLScalarVolumeNode
    segmentation: slicer.vtkMRMLSegmentationNode
    tumorCenter: slicer.vtkMRMLMarkupsFiducialNode
    preprocessing: Annotated[str, Choice(["authors-code", "paper"])] = "authors-code"
    register: bool = False


class RenalMassAIWidget(ScriptedLoadableModuleWidget, VTKObservationMixin):
    def __init__(self, parent=None):
        ScriptedLoadableModuleWidget.__init__(self, parent)
        VTKObservationMixin.__init__(self)
        self.logic = None
        self._parameterNode = None
        self._parameterNodeGuiTag = None

    def setup(self):
        ScriptedLoadableModuleWidget.setup(self)
        uiWidget = slicer.util.loadUI(str(resources_dir() / "UI" / "RenalMassAI.ui"))
        self.layout.addWidget(uiWidget)
        self.ui = slicer.util.childWidgetVariables(uiWidget)
        uiWidget.setMRMLScene(slicer.mrmlScene)
        self.logic = RenalMassAILogic()
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.StartCloseEvent, self.onSceneStartClose)
        self.addObserver(slicer.mrmlScene, slicer.mrmlScene.EndCloseEvent, self.onSceneEndClose)
        self.ui.prepareButton.connect("clicked(bool)", self.onPrepareButton)
        self.initializeParameterNode()

    def cleanup(self):
        self.removeObservers()

    def enter(self):
        self.initializeParameterNode()

    def exit(self):
        if self._parameterNode:
            self._parameterNode.disconnectGui(self._parameterNodeGuiTag)
            self._parameterNodeGuiTag = None

    def onSceneStartClose(self, caller, event):
        self.setParameterNode(None)

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

    def onPrepareButton(self):
        with slicer.util.tryWithErrorDisplay("Preparing the model inputs failed.", waitCursor=True):
            prepared = self.logic.prepare(self._parameterNode)
            self.ui.resultLabel.text = self.logic.describe(prepared)


class RenalMassAILogic(ScriptedLoadableModuleLogic):
    """Raises on bad input, never opens dialogs: usable from scripts and tests."""

    def getParameterNode(self):
        return RenalMassAIParameterNode(super().getParameterNode())

    def prepare(self, parameters: RenalMassAIParameterNode):
        import sitkUtils

        from RenalMassAILib.case.case import Case
        from RenalMassAILib.case.phase import Phase
        from RenalMassAILib.case.validation import check_ct_image
        from RenalMassAILib.classify.preprocessing import preset
        from RenalMassAILib.errors import InputError
        from RenalMassAILib.lesion.label_map import to_label_map
        from RenalMassAILib.prepare import prepare_case
        from RenalMassAILib.present.coordinates import ras_to_lps

        volumes = {Phase.NON_CONTRAST: parameters.nonContrastVolume, Phase.ARTERIAL: parameters.arterialVolume,
                   Phase.VENOUS: parameters.venousVolume}
        images, sources = {}, {}
        for phase, node in volumes.items():
            if node is not None:
                images[phase] = sitkUtils.PullVolumeFromSlicer(node)
                check_ct_image(images[phase], f"{phase.long_name} volume {node.GetName()!r}")
                sources[phase] = node.GetName()
        if not images:
            raise InputError("select at least one phase volume (non-contrast, arterial or venous)")
        case = Case(images, sources, "scene")
        label_map = None
        if parameters.segmentation is not None:
            labelNode = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode")
            try:
                referenceNode = volumes[case.reference_phase]
                slicer.modules.segmentations.logic().ExportVisibleSegmentsToLabelmapNode(
                    parameters.segmentation, labelNode, referenceNode)
                label_map = to_label_map(sitkUtils.PullVolumeFromSlicer(labelNode), case.reference,
                                         labels=self._segment_values(parameters.segmentation))
            finally:
                slicer.mrmlScene.RemoveNode(labelNode)
        center = None
        fiducial = parameters.tumorCenter
        if fiducial is not None and fiducial.GetNumberOfControlPoints() > 0:
            ras = [0.0, 0.0, 0.0]
            fiducial.GetNthControlPointPositionWorld(0, ras)
            center = ras_to_lps(ras)
        return prepare_case(case, preset(parameters.preprocessing), label_map, center,
                            "rigid" if parameters.register else "world")

    @staticmethod
    def _segment_values(segmentationNode) -> dict:
        """Label values of an exported labelmap follow the order of the visible segments (1, 2, ...)."""
        names = {"kidney": "kidney", "renal tumor": "tumor", "tumor": "tumor", "renal cyst": "cyst", "cyst": "cyst"}
        segmentation = segmentationNode.GetSegmentation()
        values = {}
        for index in range(segmentation.GetNumberOfSegments()):
            name = segmentation.GetNthSegment(index).GetName().strip().lower()
            if name in names:
                values[names[name]] = index + 1
        values.setdefault("tumor", 2)
        return values

    @staticmethod
    def describe(prepared) -> str:
        lesion = prepared.lesion
        centre = ", ".join(f"{c:.1f}" for c in prepared.center_lps)
        text = f"Tumour centre (LPS mm): {centre} ({prepared.center_source})"
        if lesion:
            text += f"\nVolume {lesion.volume_ml:.1f} mL, diameter {lesion.max_diameter_mm:.1f} mm, {lesion.side} kidney"
        return text + "\nPhases: " + " ".join(p.value for p in prepared.case.phases)


class RenalMassAITest(ScriptedLoadableModuleTest):
    def setUp(self):
        slicer.mrmlScene.Clear()

    def runTest(self):
        self.setUp()
        self.test_prepare_on_phantom()

    def test_prepare_on_phantom(self):
        import numpy as np
        import sitkUtils

        from RenalMassAILib.case.phase import Phase
        from RenalMassAILib.phantom import PhantomSpec, make_phantom
        from RenalMassAILib.present.coordinates import lps_to_ras

        self.delayDisplay("Making a phantom case")
        phantom = make_phantom(PhantomSpec(seed=3, size=(120, 120, 48), spacing=(2.0, 2.0, 3.0)))
        logic = RenalMassAILogic()
        parameters = logic.getParameterNode()
        parameters.arterialVolume = sitkUtils.PushVolumeToSlicer(phantom.images[Phase.ARTERIAL], name="arterial")
        parameters.venousVolume = sitkUtils.PushVolumeToSlicer(phantom.images[Phase.VENOUS], name="venous")
        fiducial = slicer.mrmlScene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "Tumor centre")
        fiducial.AddControlPointWorld(vtk.vtkVector3d(*lps_to_ras(phantom.lesion_center_lps)))
        parameters.tumorCenter = fiducial
        prepared = logic.prepare(parameters)
        self.assertTrue(np.allclose(prepared.center_lps, phantom.lesion_center_lps, atol=1e-3))
        self.assertEqual(set(prepared.model_input.patches), {Phase.ARTERIAL, Phase.VENOUS})
        logging.info(logic.describe(prepared))
        self.delayDisplay("Test passed")
