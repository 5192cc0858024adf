"""What one web reader does with one case, on a trame-slicer scene: no page layout here.

Opening a case builds the same case scene as the Slicer module (`scene.case_scene.CaseScene`: phase
volumes, segmentation, tumour-centre fiducial, VOI, Grad-CAM volumes, results table) on the scene of a
trame-slicer `SlicerApp`, whose views the page streams. A drag of the fiducial in a slice view reaches
the case scene through MRML, which sends the centre to the analysis worker process (one per reader,
the coalesced refresh of `scene.refresh`); `poll()` applies finished analyses on the server's thread
and returns the figures the page shows. Segmentation runs in the segmentation worker process, with
progress and Cancel. Export runs `renalmassai analyze` at the current centre in a child process and
zips its folder for download. Everything written for the case lives in the session's own temporary
folder, removed by `close()`.
"""

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import SimpleITK as sitk
import slicer

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import LabelMap, read_label_map
from RenalMassAILib.lesion.segmentation_record import RECORD_NAME
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.present.coordinates import ras_to_lps
from RenalMassAILib.scene import heatmaps, markers
from RenalMassAILib.scene.case_scene import CaseScene
from RenalMassAILib.scene.segmentation_record import of_worker_run
from RenalMassAILib.web.case_folder import OpenedCase, open_case

TASKS = ("malignancy", "aggressiveness")
DEMO_BANNER = "DEMO: made by a demo model trained on synthetic phantoms - not for clinical use"


class ReviewSession:
    def __init__(self, slicer_app, cases_folder: Path, options: dict | None = None):
        """options: preprocessing (a preset name, default the classifier's), malignancy_model /
        aggressiveness_model / seg_model (paths; default the bundled demo models)."""
        self.app = slicer_app
        self.cases_folder = Path(cases_folder)
        self.options = dict(options or {})
        self.folder = Path(tempfile.mkdtemp(prefix="renalmassai-web-"))
        self.opened: OpenedCase | None = None
        self.label_map: LabelMap | None = None
        self.case_scene: CaseScene | None = None
        self.segmentation_run = None  # (SegmentationJob, output path, model folder) while segmentation runs
        self.segmentation = None  # the record of the model that drew the label map (makes results DEMO)
        self.overlay_task = TASKS[0]
        self.shown_phase: str | None = None  # the phase under the overlay (None: the one the map explains)
        self.overlay_opacity = heatmaps.DEFAULT_OPACITY
        self.error: str | None = None

    # --- opening a case -------------------------------------------------------------------------

    def read(self, name: str) -> OpenedCase:
        """Reads the case (refused in one line by InputError). Touches no MRML, so it may run off the
        server's thread while the page stays responsive."""
        return open_case(self.cases_folder, name)

    def prepare(self, opened: OpenedCase, label_map: LabelMap | None):
        """(PreparedCase, Analyzer) at the centre of the segmented tumour; no MRML (may run off-thread)."""
        from RenalMassAILib.classify.preprocessing import preset
        from RenalMassAILib.prepare import prepare_case

        record = opened.segmentation_record if label_map is opened.label_map else self.segmentation
        prepared = prepare_case(
            opened.case, preset(self._preprocessing()), label_map, None, "rigid", segmentation=record
        )
        return prepared, Analyzer(prepared, {task: self.options.get(f"{task}_model") for task in TASKS})

    def show(self, opened: OpenedCase, label_map: LabelMap | None = None, prepared=None, analyzer=None) -> None:
        """Replaces the scene's case by this one: with (prepared, analyzer) the case scene that follows the
        fiducial, its first analysis requested; without them the phases alone, to be segmented."""
        self._close_case()
        self.opened = opened
        self.label_map = label_map
        if prepared is None:
            self._show_phases_only()
            return
        self.case_scene = CaseScene(self.app.scene, prepared, analyzer, self.label_map, self._on_error)
        reference = self.case_scene.nodes.volumes[prepared.case.reference_phase.value]
        self.app.display_manager.show_volume_in_slice_background(reference)
        self._show_segments_in_3d()
        self.app.display_manager.reset_views()
        center_ras = markers.center_of(self.case_scene.nodes.center)
        # Every slice view through the centre, the centre in the middle of each: the 2D heat maps lie in
        # the centre's slices, and the reader finds the point to drag at once.
        slicer.vtkMRMLSliceNode.JumpAllSlices(self.app.scene, *center_ras, slicer.vtkMRMLSliceNode.CenteredJumpSlice)
        self.case_scene.request_analysis()

    def _show_segments_in_3d(self) -> None:
        """Kidney, tumour and cyst as surfaces in the 3D view (Slicer makes them on demand; the web
        viewer's 3D view would otherwise show only the VOI box and the point)."""
        segmentation = self.case_scene.nodes.segmentation
        if segmentation is None:
            return
        segmentation.CreateClosedSurfaceRepresentation()
        segmentation.GetDisplayNode().SetVisibility3D(True)

    def _show_phases_only(self) -> None:
        from RenalMassAILib.scene.volumes import add_ct_volume

        case = self.opened.case
        for phase, image in case.images.items():
            node = add_ct_volume(self.app.scene, image, f"{case.case_id} {phase.long_name}")
            if phase == case.reference_phase:
                self.app.display_manager.show_volume_in_slice_background(node)
        self.app.display_manager.reset_views()

    def _preprocessing(self) -> str:
        if self.options.get("preprocessing"):
            return self.options["preprocessing"]
        from RenalMassAILib.classify.model_package import read_card
        from RenalMassAILib.classify.model_registry import DEMO_CLASSIFIER, builtin_dir

        return read_card(builtin_dir() / DEMO_CLASSIFIER).preprocessing.name

    def _on_error(self, error: Exception) -> None:
        self.error = str(error)

    # --- segmentation ---------------------------------------------------------------------------

    def start_segmentation(self, int8: bool = False) -> None:
        """The segmentation worker on the opened case (around the centre when one is placed; int8: the
        network's passes in OpenVINO INT8, as the CLI's --int8)."""
        from RenalMassAILib.resources import demo_segmentation_model
        from RenalMassAILib.workers.segmentation_job import SegmentationJob

        if self.opened is None:
            raise InputError("open a case first")
        if self.segmentation_run is not None:
            raise InputError("segmentation is already running: wait for it or cancel it")
        output = self.folder / "segmentation.nii.gz"
        model = self.options.get("seg_model") or str(demo_segmentation_model())
        images = {p.value: image for p, image in self.opened.case.images.items()}
        job = SegmentationJob(images, model, output, self._center_lps(), {"int8": True} if int8 else None)
        job.watch()
        self.segmentation_run = (job, output, model)

    def segmentation_progress(self) -> tuple[str | None, LabelMap | None]:
        """(the newest progress line, the label map once the worker is done); never blocks."""
        if self.segmentation_run is None:
            return None, None
        job, output, model = self.segmentation_run
        line = None
        for message in job.messages():
            line = f"segmentation {message.get('stage', '')}: {message.get('message', '')}"
            if message.get("stage") == "done":
                self.segmentation_run = None
                try:
                    labels = read_label_map(output, self.opened.case.reference, what="nnU-Net segmentation")
                    self.segmentation = of_worker_run(model, self.opened.case, job.result or {}, job.options)
                finally:
                    output.unlink(missing_ok=True)
                return "segmentation done", labels
        return line, None

    def cancel_segmentation(self) -> None:
        if self.segmentation_run is not None:
            job, output, _ = self.segmentation_run
            self.segmentation_run = None
            try:
                job.cancel()
            finally:
                output.unlink(missing_ok=True)

    # --- the live analysis ----------------------------------------------------------------------

    def poll(self):
        """Applies a finished analysis (never blocks); returns the current Analysis or None."""
        if self.case_scene is None:
            return None
        self.case_scene.refresher.apply_finished()
        return self.case_scene.analysis

    @property
    def busy(self) -> bool:
        return self.case_scene is not None and self.case_scene.refresher.busy

    def _center_lps(self):
        if self.case_scene is None:
            return None
        return ras_to_lps(markers.center_of(self.case_scene.nodes.center))

    def move_center(self, center_lps) -> None:
        """Moves the fiducial (as a drag does); the refresh follows through MRML."""
        from RenalMassAILib.present.coordinates import lps_to_ras

        markers.move_center(self.case_scene.nodes.center, lps_to_ras(center_lps))

    def show_overlay(self, task: str | None = None, opacity: float | None = None, phase: str | None = None) -> None:
        """The task's Grad-CAM over a phase in every slice view: `phase` (a letter) when given and present,
        else the phase the map explains. The phases share the reference grid, so any of them lies under it."""
        self.overlay_task = task or self.overlay_task
        self.overlay_opacity = self.overlay_opacity if opacity is None else float(opacity)
        self.shown_phase = phase or self.shown_phase
        if self.case_scene is None:
            return
        heat = self.case_scene.heatmap(self.overlay_task)
        if heat is None:
            return
        volumes = self.case_scene.nodes.volumes
        explained = next(p for (_, p), node in self.case_scene.nodes.heatmaps.items() if node is heat)
        background = volumes.get(self.shown_phase) or volumes[explained]
        composites = self.app.scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
        heatmaps.show_overlay(
            [composites.GetItemAsObject(i) for i in range(composites.GetNumberOfItems())],
            background,
            heat,
            self.overlay_opacity,
        )
        for view in self.app.view_manager.get_slice_views():  # trame-slicer's views render on request only
            view.schedule_render()

    def phases(self) -> list[dict]:
        """The opened case's phases for the page's phase list (reference phase first)."""
        if self.opened is None:
            return []
        case = self.opened.case
        ordered = [case.reference_phase, *[p for p in case.phases if p != case.reference_phase]]
        return [{"title": phase.long_name, "value": phase.value} for phase in ordered]

    # --- export ---------------------------------------------------------------------------------

    def export_command(self, out: Path) -> list[str]:
        """`renalmassai analyze` on the case's files at the current centre, with this session's models."""
        opened = self.opened
        if opened.image_files:
            inputs = ["--auto", *[str(p) for p in opened.image_files]]
        else:
            inputs = ["--auto", str(opened.folder)]
        command = [sys.executable, "-m", "RenalMassAILib", "analyze", *inputs, "--case-id", opened.case.case_id]
        if self.label_map is not None:
            # The label map with its record beside it, as `renalmassai segment` leaves them: the report
            # then names the model that drew it (and is DEMO when a demo model did).
            labels = self.folder / "export-segmentation" / "segmentation.nii.gz"
            labels.parent.mkdir(exist_ok=True)
            sitk.WriteImage(self.label_map.image, str(labels), useCompression=True)
            record = self._segmentation_record()
            if record is not None:
                (labels.parent / RECORD_NAME).write_text(json.dumps(record))
            command += ["--segmentation", str(labels)]
        center = self._center_lps()
        if center is not None and self.case_scene.analysis.center_source != "segmentation":
            command += ["--center-lps", *[f"{c:.3f}" for c in center]]  # the reader's centre, recorded as such
        # --dicom-out: for a DICOM study SEG, SR, captures and the PDF in its study; for image files the PDF only
        command += ["--preprocessing", self._preprocessing(), "--register", "--out", str(out)]
        command += ["--dicom-out", str(out / "dicom")]
        for task in TASKS:
            if self.options.get(f"{task}_model"):
                command += [f"--{task}-model", self.options[f"{task}_model"]]
        return command

    def _segmentation_record(self) -> dict | None:
        if self.case_scene is None:
            return None
        return self.case_scene.prepared.segmentation

    def export(self) -> Path:
        """Screenshots, report.json, summary.html and the DICOM results (dicom/) of the current state,
        zipped; returns the zip's path."""
        if self.case_scene is None or self.case_scene.analysis is None:
            raise InputError("analyze a case before exporting it")
        out = self.folder / "export"
        shutil.rmtree(out, ignore_errors=True)
        finished = subprocess.run(self.export_command(out), capture_output=True, text=True, check=False)
        if finished.returncode != 0:
            last = (finished.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"export failed: {last}")
        archive = self.folder / f"{self.opened.case.case_id}-renalmassai.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in sorted(out.rglob("*")):
                if path.is_file():
                    zipped.write(path, path.relative_to(out))
        return archive

    # --- closing --------------------------------------------------------------------------------

    def _clear_scene(self) -> None:
        if self.case_scene is not None:
            self.case_scene.close()
            self.case_scene = None
        for cls in ("vtkMRMLScalarVolumeNode", "vtkMRMLSegmentationNode", "vtkMRMLMarkupsNode", "vtkMRMLTableNode"):
            nodes = self.app.scene.GetNodesByClass(cls)
            for node in [nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())]:
                self.app.scene.RemoveNode(node)

    def _close_case(self) -> None:
        self.cancel_segmentation()
        self._clear_scene()
        self.opened = None
        self.label_map = None
        self.error = None

    def close(self) -> None:
        """Ends the workers and removes every file of the session (patient data)."""
        try:
            self._close_case()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
