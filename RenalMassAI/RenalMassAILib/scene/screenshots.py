"""Annotated screenshots of a case scene: axial, coronal and sagittal slices through the tumor
center, a 3D view of the segmentation, and one panel per task of the model inputs with Grad-CAM.

Headless (a SceneApp) the views are offscreen views of their own (views.py). Inside Slicer (a
LayoutApp) they are the application's own layout views, borrowed and restored (layout_views.py),
so no view node is added to the user's scene. Either way the user's segmentation display and its
representations are as they were afterwards.
"""

import contextlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import slicer

from RenalMassAILib.pipeline import Analysis
from RenalMassAILib.present.task_panel import write_task_panel
from RenalMassAILib.scene import heatmaps, markers
from RenalMassAILib.scene.annotations import ViewAnnotations, orientation_letters
from RenalMassAILib.scene.case_scene import CaseScene
from RenalMassAILib.scene.layout_views import LayoutApp
from RenalMassAILib.scene.views import SLICE_VIEWS, SliceView, ThreeDView

VIEW_SIZE = (640, 640)
FIELD_OF_VIEW_MM = 180.0  # around the tumor center: kidney and its surroundings
SEGMENT_FILL_OPACITY = 0.25


def findings_lines(analysis: Analysis) -> list[str]:
    lines = []
    for task, prediction in analysis.predictions.items():
        text = f"P({task}) = {prediction.probability:.2f}"
        if task == "aggressiveness":
            text += f"  score {prediction.score_0_10:.1f}/10"
        lines.append(text)
    return lines


def model_line(analysis: Analysis) -> str:
    models = sorted({f"{p.model_id} v{p.model_version}" for p in analysis.predictions.values()})
    phases = sorted({" ".join(p.phases_used) for p in analysis.predictions.values()})
    return f"model {', '.join(models)}\nphases {'; '.join(phases)}"


def write_screenshots(
    app, case_scene: CaseScene, out_dir, heat_task: str = "malignancy", opacity: float = heatmaps.DEFAULT_OPACITY
) -> dict[str, str]:
    """Renders the views and writes PNGs; returns {view name: file name}."""
    analysis = case_scene.analysis
    if analysis is None:
        raise RuntimeError("the case has not been analyzed yet: nothing to annotate")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    center = markers.center_of(case_scene.nodes.center)
    reference = case_scene.nodes.volumes[case_scene.prepared.case.reference_phase.value]
    heat = case_scene.heatmap(heat_task)
    segmentation = case_scene.nodes.segmentation
    display = segmentation.GetDisplayNode() if segmentation is not None else None
    saved = (display.GetOpacity2DFill(), display.GetVisibility3D()) if display is not None else None
    had_surface = segmentation is not None and segmentation.GetSegmentation().ContainsRepresentation(
        slicer.vtkSegmentationConverter.GetSegmentationClosedSurfaceRepresentationName()
    )
    scene = app.scene
    before = {scene.GetNthNode(i).GetID() for i in range(scene.GetNumberOfNodes())}
    showing = app.showing_all_views() if isinstance(app, LayoutApp) else contextlib.nullcontext()
    try:
        if display is not None:
            display.SetOpacity2DFill(SEGMENT_FILL_OPACITY)
            display.SetVisibility3D(True)
        with showing:
            written = _write_views(app, case_scene, analysis, center, reference, heat, heat_task, opacity, out)
    finally:  # the user's display settings come back; the offscreen views' nodes leave with them
        if display is not None:
            display.SetOpacity2DFill(saved[0])
            display.SetVisibility3D(saved[1])
        if segmentation is not None and not had_surface:
            segmentation.RemoveClosedSurfaceRepresentation()  # made only for the 3D screenshot
        created = [scene.GetNthNode(i) for i in range(scene.GetNumberOfNodes())]
        for node in created:
            if node.GetID() not in before and node.GetScene() is not None:
                scene.RemoveNode(node)
    for task in analysis.predictions:
        written[f"gradcam_{task}"] = write_task_panel(analysis, task, out / f"gradcam_{task}.png")
    return written


def _write_views(app, case_scene, analysis, center, reference, heat, heat_task, opacity, out: Path) -> dict:
    written = {}
    for orientation in SLICE_VIEWS.values():
        view = _slice_view(app, orientation)
        try:
            heatmaps.show_overlay([view.composite], reference, heat, opacity)
            view.node.SetRulerType(slicer.vtkMRMLAbstractViewNode.RulerTypeThin)
            view.node.SetRulerColor(slicer.vtkMRMLAbstractViewNode.RulerColorWhite)
            view.zoom_to(center, FIELD_OF_VIEW_MM)
            heat_note = heat_task if orientation == "Axial" else None  # the 2D heat map lies in the axial plane
            annotate_view(view, analysis, case_scene, f"{orientation}: {reference.GetName()}", heat_note)
            written[orientation.lower()] = _save(view.capture(), out / f"{orientation.lower()}.png")
        finally:
            view.close()
    written["3d"] = _write_3d(app, case_scene, analysis, center, out)
    return written


def _slice_view(app, orientation: str):
    """The layout's view of that orientation (Slicer), else a separate offscreen one."""
    if isinstance(app, LayoutApp):
        return app.borrow_slice_view(orientation)
    return SliceView(app, f"RenalMassAI{orientation}", VIEW_SIZE, orientation)


def annotate_view(
    view, analysis: Analysis, case_scene: CaseScene, title: str, heat_task: str | None
) -> ViewAnnotations:
    """Findings, model, phases, center source, orientation letters (slice views) and the demo banner."""
    notes = ViewAnnotations(view)
    overlay = f"\nGrad-CAM: {heat_task}" if heat_task else ""
    notes.corners(
        top_left=f"{title}{overlay}\ncenter from {analysis.center_source}",
        top_right="\n".join(findings_lines(analysis)) + "\n" + model_line(analysis),
    )
    if hasattr(view, "composite"):  # a slice view (offscreen or borrowed)
        xy_to_ras = view.node.GetXYToRAS()
        notes.orientation(
            orientation_letters(np.array([[xy_to_ras.GetElement(r, c) for c in range(4)] for r in range(4)]))
        )
    if analysis.demo:
        notes.demo_banner(analysis.warnings)
    return notes


def _write_3d(app, case_scene: CaseScene, analysis: Analysis, center, out: Path) -> str:
    segmentation = case_scene.nodes.segmentation
    view = app.borrow_threed_view() if isinstance(app, LayoutApp) else ThreeDView(app, VIEW_SIZE)
    try:
        if segmentation is not None:
            segmentation.CreateClosedSurfaceRepresentation()
        view.look_from(center, (0.0, 1.0, 0.0), 450.0)  # from anterior, as on a coronal image
        annotate_view(view, analysis, case_scene, "3D, anterior view", None)
        return _save(view.capture(), out / "3d.png")
    finally:
        view.close()


def _save(pixels: np.ndarray, path: Path) -> str:
    sitk.WriteImage(sitk.GetImageFromArray(pixels, isVector=True), str(path))
    return path.name
