"""What the Slicer module's controls do, on MRML only: no Qt, no dialogs, no module-level state.

The module file (RenalMassAI.py) builds `RenalMassAILogic` on Slicer's scene and application logic
and its typed parameter node class; the tests build it on a slicer-core scene. Every method raises
on bad input (`InputError` with `field` set, so the module can name its own widget) and leaves the
scene as it was. State that outlives a call travels in the objects returned to the caller: a
`SegmentationRun` carries its case and its temporary label folder, an `AnalyzedCase` its case scene
and label map.
"""

import dataclasses
import shutil
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from RenalMassAILib.case.case import Case
from RenalMassAILib.case.loading import checked_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.validation import check_point_inside
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.present.coordinates import lps_to_ras, ras_to_lps
from RenalMassAILib.scene import markers, parameters, segmentation_record
from RenalMassAILib.scene.case_scene import CaseNodes, CaseScene

# InputError.field values this Logic sets (the module maps them to its widget labels).
FIELD_PHASES = "phases"
FIELD_CENTER = "center"
FIELD_SEGMENTATION = "segmentation"
FIELD_OUTPUT_FOLDER = "outputFolder"
LABELS_FOLDER_PREFIX = "renalmassai-labels-"


@dataclasses.dataclass
class SegmentationRun:
    """A segmentation worker with the case it segments and the folder it writes its label map to.

    The folder holds patient data: `cancel()` and `RenalMassAILogic.loadSegmentation` remove it."""

    job: object  # RenalMassAILib.workers.segmentation_job.SegmentationJob
    case: Case
    reference: object  # the volume node of the case's reference phase
    labels_folder: Path
    model_folder: str | None = None  # the nnU-Net model folder the worker runs (for the segmentation record)

    def messages(self) -> list[dict]:
        return self.job.messages()

    def cancel(self) -> None:
        """Ends the worker (its whole process group) and removes every temporary file."""
        try:
            self.job.cancel()
        finally:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.labels_folder, ignore_errors=True)


@dataclasses.dataclass
class AnalyzedCase:
    """The case scene that follows the center fiducial, with the label map it was prepared from."""

    scene: CaseScene
    label_map: LabelMap | None

    @property
    def analysis(self):
        return self.scene.analysis

    def close(self) -> None:
        self.scene.close()


def with_field(error: InputError, field: str) -> InputError:
    """The error, with `field` set where the raiser left it open."""
    if getattr(error, "field", None) is None:
        error.field = field
    return error


class RenalMassAILogic:
    def __init__(self, scene, app_logic, parameter_node_class, python_executable: str | None = None):
        """scene / app_logic: Slicer's (slicer.mrmlScene, slicer.app.applicationLogic()) or a
        SceneApp's; parameter_node_class wraps the module's vtkMRMLScriptedModuleNode in typed
        fields; python_executable runs the segmentation worker (inside Slicer: PythonSlicer)."""
        self.scene = scene
        self.app_logic = app_logic
        self.parameter_node_class = parameter_node_class
        self.python_executable = python_executable

    def getParameterNode(self):
        return self.parameter_node_class(parameters.parameter_node(self.scene))

    # --- inputs ---------------------------------------------------------------------------------

    def assignPhases(self, params) -> dict:
        """Fills empty phase selectors from the names of the scene's scalar volumes."""
        from RenalMassAILib.case.phase_detection import phase_from_name

        assigned = {}
        nodes = self.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
        for index in range(nodes.GetNumberOfItems()):
            node = nodes.GetItemAsObject(index)
            if node.IsA("vtkMRMLLabelMapVolumeNode") or node.GetAttribute("RenalMassAI.role"):
                continue  # label maps and our own heat maps are not phases
            phase = phase_from_name(node.GetName())
            if phase is None or phase.value in assigned:
                continue
            attribute = parameters.PHASE_REFERENCE[phase.value]
            if getattr(params, attribute) is None:
                setattr(params, attribute, node)
                assigned[phase.value] = node
        return assigned

    def volumes(self, params) -> dict:
        """Phase letter -> selected volume node (at least one)."""
        selected = {letter: getattr(params, attribute) for letter, attribute in parameters.PHASE_REFERENCE.items()}
        selected = {letter: node for letter, node in selected.items() if node is not None}
        if not selected:
            raise InputError("select at least one phase volume (non-contrast, arterial or venous)", FIELD_PHASES)
        return selected

    def case(self, params) -> Case:
        """The selected volumes as a checked Case (case.loading's checks, as for files)."""
        from RenalMassAILib.scene.volumes import volume_to_image

        nodes = {Phase(letter): node for letter, node in self.volumes(params).items()}
        try:
            return checked_case(
                {phase: volume_to_image(node) for phase, node in nodes.items()},
                {phase: node.GetName() for phase, node in nodes.items()},
            )
        except InputError as error:
            raise with_field(error, FIELD_PHASES) from None

    def _center_lps(self, params):
        """The fiducial's point in LPS mm, or None when no point is placed."""
        fiducial = params.tumorCenter
        if fiducial is None or fiducial.GetNumberOfControlPoints() == 0:
            return None
        return ras_to_lps(markers.center_of(fiducial))

    # --- segmentation ---------------------------------------------------------------------------

    def startSegmentation(self, params) -> SegmentationRun:
        """Starts the segmentation worker on the selected phases (around the center when placed; in INT8
        when the Faster (INT8) box is ticked)."""
        from RenalMassAILib.resources import demo_segmentation_model
        from RenalMassAILib.workers.segmentation_job import SegmentationJob

        case = self.case(params)
        reference = self.volumes(params)[case.reference_phase.value]
        model = params.segmentationModel or str(demo_segmentation_model())
        folder = Path(tempfile.mkdtemp(prefix=LABELS_FOLDER_PREFIX))
        try:
            job = SegmentationJob(
                {p.value: image for p, image in case.images.items()},
                model,
                folder / "labels.nii.gz",
                self._center_lps(params),
                options={"int8": True} if params.segmentationInt8 else None,
                python=self.python_executable,
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return SegmentationRun(job, case, reference, folder, model)

    def loadSegmentation(self, params, run: SegmentationRun):
        """The worker's label map into the selected segmentation node, else a new one. The run's
        label folder is removed whatever happens (it holds patient data)."""
        from RenalMassAILib.lesion.label_map import read_label_map
        from RenalMassAILib.scene.segmentation import add_segmentation, fill_segmentation

        try:
            result = run.job.result or {}
            output = Path(result["output"]) if result.get("output") else None
            if output is None or not output.exists():
                raise RuntimeError("the segmentation worker wrote no label map")
            label_map = read_label_map(output, run.case.reference)
        finally:
            run.discard()
        if params.segmentation is None:
            params.segmentation = add_segmentation(
                self.scene, label_map, run.reference, f"{run.reference.GetName()} segmentation"
            )
        else:
            params.segmentation.SetReferenceImageGeometryParameterFromVolumeNode(run.reference)
            fill_segmentation(params.segmentation, label_map)
        if run.model_folder:
            # Kept on the node (saved with the scene) so that a later analysis knows which model drew it:
            # a demo segmentation model makes the whole result DEMO.
            segmentation_record.store(params.segmentation, _segmentation_record(run, result))
        return params.segmentation

    # --- tumor center ---------------------------------------------------------------------------

    def placeOrResetCenter(self, params) -> str:
        """With a segmentation: the point goes to the center of the segmented tumor. Without one:
        the point is removed and Markups' place mode waits for one click in a view."""
        if params.tumorCenter is None:
            fiducial = self.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", markers.CENTER_NAME)
            fiducial.CreateDefaultDisplayNodes()
            params.tumorCenter = fiducial
        fiducial = params.tumorCenter
        if params.segmentation is not None:
            prepared, _ = self.prepare(params, use_center=False)
            ras = lps_to_ras(prepared.center_lps)
            if fiducial.GetNumberOfControlPoints() == 0:
                fiducial.AddControlPoint(*[float(c) for c in ras], markers.CENTER_NAME)
            else:
                markers.move_center(fiducial, ras)
            fiducial.SetMaximumNumberOfControlPoints(1)
            return "Tumor center set to the center of the segmented tumor."
        markers.clear_center(fiducial)
        markers.start_placing(self.app_logic.GetModuleLogic("Markups"), fiducial)
        return "Click on the tumor in a slice view to place its center."

    # --- analysis -------------------------------------------------------------------------------

    def label_map(self, params, case: Case) -> LabelMap | None:
        """The selected segmentation on the reference grid (None without one)."""
        from RenalMassAILib.scene.segmentation import label_map_from_segmentation

        if params.segmentation is None:
            return None
        reference = self.volumes(params)[case.reference_phase.value]
        try:
            return label_map_from_segmentation(params.segmentation, reference, case.reference)
        except InputError as error:
            raise with_field(error, FIELD_SEGMENTATION) from None

    def prepare(self, params, use_center: bool = True):
        """(PreparedCase, label map) for the selected inputs; the center only when use_center."""
        from RenalMassAILib.classify.preprocessing import preset
        from RenalMassAILib.prepare import prepare_case

        case = self.case(params)
        label_map = self.label_map(params, case)
        center = self._center_lps(params) if use_center else None
        if center is None and (label_map is None or not _has_label(label_map, "tumor")):
            what = (
                "no segmentation is selected"
                if label_map is None
                else f"segmentation {params.segmentation.GetName()!r} has no tumor voxels"
            )
            raise InputError(f"{what}: place the tumor center or select a segmentation with a tumor", FIELD_CENTER)
        if center is not None:  # prepare_case checks it too, but its message would not name the fiducial
            try:
                check_point_inside(
                    center,
                    case.reference,
                    f"tumor center {params.tumorCenter.GetName()!r}",
                    case.describe(case.reference_phase),
                )
            except InputError as error:
                raise with_field(error, FIELD_CENTER) from None
        record = segmentation_record.stored(params.segmentation) if params.segmentation is not None else None
        prepared = prepare_case(
            case,
            preset(params.preprocessing),
            label_map,
            center,
            "rigid" if params.register else "world",
            segmentation=record,
        )
        return prepared, label_map

    def analyze(self, params, on_error=None) -> AnalyzedCase:
        """Builds the case scene on the user's nodes and analyzes at the tumor center; the case
        scene then refreshes by itself when the center moves (poll `scene.refresher`)."""
        from RenalMassAILib.pipeline import Analyzer

        prepared, label_map = self.prepare(params)
        analyzer = Analyzer(
            prepared,
            {"malignancy": params.malignancyModel or None, "aggressiveness": params.aggressivenessModel or None},
        )
        existing = CaseNodes(self.volumes(params), params.segmentation, params.tumorCenter, None)
        if params.voi is not None:
            self.scene.RemoveNode(params.voi)  # the case scene makes a new box around the center
        case_scene = CaseScene(self.scene, prepared, analyzer, label_map, on_error, existing)
        try:
            case_scene.analyze()  # the glue fills the same parameter node (VOI, results table)
        except BaseException:
            case_scene.close()
            raise
        params.tumorCenter = case_scene.nodes.center
        return AnalyzedCase(case_scene, label_map)

    def showOverlay(self, analyzed: AnalyzedCase, task: str, opacity: float) -> None:
        """The task's heat map over its phase in every slice view of the scene."""
        from RenalMassAILib.scene import heatmaps

        heat = analyzed.scene.heatmap(task)
        if heat is None:
            return
        phase = next(p for (_, p), node in analyzed.scene.nodes.heatmaps.items() if node is heat)
        composites = self.scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
        heatmaps.show_overlay(
            [composites.GetItemAsObject(i) for i in range(composites.GetNumberOfItems())],
            analyzed.scene.nodes.volumes[phase],
            heat,
            opacity,
        )

    def export(self, app, analyzed: AnalyzedCase, params) -> Path:
        """Screenshots, report.json and summary.html in the output folder; returns report.json."""
        from RenalMassAILib.scene.export import export_case

        if not params.outputFolder:
            raise InputError("choose an output folder for the screenshots and the report", FIELD_OUTPUT_FOLDER)
        return export_case(app, analyzed.scene, Path(params.outputFolder), analyzed.label_map)

    def exportDicom(self, analyzed: AnalyzedCase, params, report_path: Path, dicom_database) -> dict:
        """SEG, SR, secondary captures and PDF of an exported case in `<output folder>/dicom`, in the
        reference volume's source study when Slicer's DICOM database has its files (the PDF only for a
        volume not loaded from DICOM); returns dicom_results.json's manifest."""
        from RenalMassAILib.scene.dicom_export import DICOM_FOLDER, write_case_dicom

        case = analyzed.scene.prepared.case
        reference_node = analyzed.scene.nodes.volumes[case.reference_phase.value]
        return write_case_dicom(
            Path(report_path),
            reference_node,
            case.reference,
            analyzed.label_map,
            Path(params.outputFolder) / DICOM_FOLDER,
            dicom_database,
        )

    @staticmethod
    def describe(analysis) -> str:
        from RenalMassAILib.scene.screenshots import findings_lines, model_line

        center = ", ".join(f"{c:.1f}" for c in analysis.center_lps)
        return "\n".join(
            [
                *findings_lines(analysis),
                model_line(analysis),
                f"Tumor center (LPS mm): {center} ({analysis.center_source})",
            ]
        )


def _has_label(label_map: LabelMap, name: str) -> bool:
    return bool(np.any(sitk.GetArrayViewFromImage(label_map.image) == label_map.value(name)))


def _segmentation_record(run: SegmentationRun, result: dict) -> dict:
    return segmentation_record.of_worker_run(run.model_folder, run.case, result, run.job.options)
