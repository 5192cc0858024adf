"""One case in the scene: phases, segmentation, tumor center, VOI, Grad-CAM overlays, results.

`CaseScene` keeps the scene in step with the engine: moving the center fiducial (a drag in a view or
a programmatic move) re-prepares the inputs and refreshes the probabilities, the heat maps and the
results table through `CenterRefresher`, in the analysis worker process (never in the GUI process);
one-shot headless use (`renalmassai analyze`) may analyze in-process instead (`live_refresh=False`).
"""

import dataclasses

import slicer

from RenalMassAILib.case.alignment import resample_onto_reference
from RenalMassAILib.case.phase import PHASE_ORDER
from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.pipeline import Analysis, Analyzer
from RenalMassAILib.prepare import PreparedCase
from RenalMassAILib.present.coordinates import lps_to_ras, ras_to_lps
from RenalMassAILib.scene import heatmaps, markers, parameters
from RenalMassAILib.scene.refresh import CenterRefresher, InProcessRefresher
from RenalMassAILib.scene.results_table import update_results_table
from RenalMassAILib.scene.segmentation import add_segmentation
from RenalMassAILib.scene.volumes import add_ct_volume


@dataclasses.dataclass
class CaseNodes:
    volumes: dict  # phase letter -> scalar volume node (headless: resampled onto the reference grid)
    segmentation: object | None
    center: object
    voi: object
    table: object | None = None
    heatmaps: dict = dataclasses.field(default_factory=dict)  # (task, phase) -> volume node


class CaseScene:
    def __init__(
        self,
        scene,
        prepared: PreparedCase,
        analyzer: Analyzer,
        label_map: LabelMap | None = None,
        on_error=None,
        existing: CaseNodes | None = None,
        live_refresh: bool = True,
    ):
        """`existing` reuses the user's nodes (Slicer): their phase volumes, segmentation and center
        fiducial are kept as they are; missing ones are created. `live_refresh`: analyses run in the
        analysis worker process (started here); False runs them in this process, on this thread,
        for one-shot headless use where no GUI waits."""
        self.scene = scene
        self.prepared = prepared
        self.analyzer = analyzer
        self.analysis: Analysis | None = None
        self.nodes = self._add_nodes(prepared, label_map, existing)
        refresher = CenterRefresher if live_refresh else InProcessRefresher
        self.refresher = refresher(analyzer, self._apply, on_error)
        self._observations = [
            self.nodes.center.AddObserver(event, self._on_center_moved)
            for event in (
                slicer.vtkMRMLMarkupsNode.PointModifiedEvent,
                slicer.vtkMRMLMarkupsNode.PointEndInteractionEvent,
            )
        ]
        self._last_requested = None

    def _add_nodes(self, prepared: PreparedCase, label_map: LabelMap | None, existing: CaseNodes | None) -> CaseNodes:
        case = prepared.case
        center_ras = lps_to_ras(prepared.center_lps)
        if existing is not None and existing.volumes:
            volumes = dict(existing.volumes)
        else:
            aligned = resample_onto_reference(case, prepared.alignments)
            volumes = {
                phase.value: add_ct_volume(self.scene, aligned[phase], f"{case.case_id} {phase.long_name}")
                for phase in PHASE_ORDER
                if phase in aligned
            }
        reference = volumes[case.reference_phase.value]
        segmentation = existing.segmentation if existing is not None else None
        if segmentation is None and label_map is not None:
            segmentation = add_segmentation(self.scene, label_map, reference, f"{case.case_id} segmentation")
        center = existing.center if existing is not None else None
        if center is None or center.GetNumberOfControlPoints() == 0:
            if center is not None:
                self.scene.RemoveNode(center)
            center = markers.add_center_fiducial(self.scene, center_ras)
        nodes = CaseNodes(volumes, segmentation, center, markers.add_voi_roi(self.scene, center_ras))
        self._place_in_hierarchy(case.case_id, nodes, reference if existing is not None else None)
        params = parameters.parameter_node(self.scene)
        for phase, node in volumes.items():
            parameters.set_reference(params, parameters.PHASE_REFERENCE[phase], node)
        parameters.set_reference(params, "segmentation", segmentation)
        parameters.set_reference(params, "tumorCenter", nodes.center)
        parameters.set_reference(params, "voi", nodes.voi)
        return nodes

    def _place_in_hierarchy(self, case_id: str, nodes: CaseNodes, user_reference=None) -> None:
        """Everything of the case under one patient / study, as DICOM-loaded data would be; with the
        user's own volumes, our nodes join the study (or folder) of their reference volume."""
        hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(self.scene)
        user_item = hierarchy.GetItemByDataNode(user_reference) if user_reference is not None else 0
        if user_item and hierarchy.GetItemParent(user_item) != hierarchy.GetSceneItemID():
            self.study_item = hierarchy.GetItemParent(user_item)
        else:
            patient = hierarchy.CreateSubjectItem(hierarchy.GetSceneItemID(), case_id)
            self.study_item = hierarchy.CreateStudyItem(patient, f"{case_id} CT")
        for node in [*nodes.volumes.values(), nodes.segmentation, nodes.center, nodes.voi]:
            if node is None:
                continue
            item = hierarchy.GetItemByDataNode(node)
            if item and user_reference is not None and hierarchy.GetItemParent(item) != hierarchy.GetSceneItemID():
                continue  # the user has placed it already
            if item:
                hierarchy.SetItemParent(item, self.study_item)
            else:  # on slicer-core no plugin has made an item for the node yet
                hierarchy.CreateItem(self.study_item, node)

    # --- analysis -------------------------------------------------------------------------------

    def analyze(self, timeout: float = 300.0) -> Analysis:
        """Runs the analysis at the fiducial's current position and waits for it (headless use). The
        first one also waits for the worker's start-up (imports and model load: seconds, more on a
        busy machine), hence the long default; TimeoutError after `timeout` seconds."""
        self.request_analysis()
        return self.refresher.wait(timeout)

    def request_analysis(self) -> None:
        """Asks for the analysis at the fiducial's current position and returns at once; the result is
        applied by the refresher's `apply_finished` (the web viewer polls it)."""
        self.refresher.request(self._center_request(ras_to_lps(markers.center_of(self.nodes.center))))

    def _center_request(self, center_lps):
        """None (the automatic center, recorded as such) while the fiducial has not been moved."""
        automatic = self.prepared.center_lps
        return None if max(abs(a - b) for a, b in zip(center_lps, automatic)) < 1e-3 else center_lps

    def _on_center_moved(self, caller, event) -> None:
        center = ras_to_lps(markers.center_of(caller))
        if center == self._last_requested:
            return
        self._last_requested = center
        self.nodes.voi.SetCenter(*lps_to_ras(center))
        self.refresher.request(self._center_request(center))

    def _apply(self, analysis: Analysis) -> None:
        self.analysis = analysis
        for task, maps in analysis.explanations.items():
            geometry = analysis.model_inputs[analysis.inputs_of_task[task]].geometry
            for phase, heat in maps.items():
                node = heatmaps.set_heatmap(self.scene, geometry.to_image(heat), task, phase)
                self.nodes.heatmaps[(task, phase)] = node
        self.nodes.table = update_results_table(self.scene, analysis, self.nodes.table)
        params = parameters.parameter_node(self.scene)
        parameters.set_reference(params, "resultsTable", self.nodes.table)
        # The models and the preset that produced the results, under the module's parameter names.
        models = {f"{task}Model": str(package.path) for package, tasks, _ in self.analyzer.runs for task in tasks}
        parameters.set_parameters(params, preprocessing=self.prepared.model_input.preprocessing.name, **models)

    def heatmap(self, task: str, phase: str | None = None):
        """The heat-map node of a task on a phase (default: the reference phase, else any)."""
        phase = phase or self.prepared.case.reference_phase.value
        return self.nodes.heatmaps.get((task, phase)) or next(
            (node for (t, _), node in self.nodes.heatmaps.items() if t == task), None
        )

    def close(self) -> None:
        """Stops following the center and ends the analysis worker; the nodes stay in the scene
        (they are the user's results)."""
        for tag in self._observations:
            self.nodes.center.RemoveObserver(tag)
        self.refresher.close()
