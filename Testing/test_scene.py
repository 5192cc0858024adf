"""Scene glue on a real MRML scene (slicer-core): nodes, terminology, geometry, the draggable center,
overlays, the results table and annotated offscreen screenshots."""

import json
import select
import threading
import time

import numpy as np
import pytest
import SimpleITK as sitk
import slicer
import vtk
from vtkmodules.util import numpy_support

from conftest import phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.prepare import prepare_case
from RenalMassAILib.present.coordinates import lps_to_ras
from RenalMassAILib.present.report import DEMO_BANNER
from RenalMassAILib.scene import heatmaps, markers, parameters
from RenalMassAILib.scene.annotations import orientation_letters
from RenalMassAILib.scene.case_scene import CaseScene
from RenalMassAILib.scene.results_table import table_rows
from RenalMassAILib.scene.scene_app import SceneApp
from RenalMassAILib.scene.screenshots import annotate_view, write_screenshots
from RenalMassAILib.scene.segmentation import segment_terminology
from RenalMassAILib.scene.views import SliceView
from RenalMassAILib.scene.volumes import ijk_to_ras, volume_array
from RenalMassAILib.workers import process_tree

WORKER_START_SECONDS = 180  # imports + model load + one analysis, on a busy 2-core machine

SPEC = dict(
    seed=43,
    subtype="ccRCC",
    grade=3,
    diameter_mm=45.0,
    size=(128, 128, 36),
    spacing=(2.6, 2.6, 4.0),
    side="left",
    extra_cysts=1,
)


@pytest.fixture(scope="module")
def prepared_case():
    p = phantom(**SPEC)
    case = p.case("scene-test")
    label_map = to_label_map(p.labels, case.reference)
    return p, prepared_case_of(case, label_map), label_map


def prepared_case_of(case, label_map):
    return prepare_case(case, preset("authors-code"), label_map)


@pytest.fixture()
def loaded(prepared_case):
    """The case scene as `renalmassai analyze` builds it: analyzed once, in this process."""
    p, prepared, label_map = prepared_case
    app = SceneApp.create()
    case_scene = CaseScene(app.scene, prepared, Analyzer(prepared), label_map, live_refresh=False)
    case_scene.analyze()
    yield app, case_scene, p
    case_scene.close()


@pytest.fixture(scope="module")
def live(prepared_case, tmp_path_factory):
    """The case scene as the Slicer module builds it: analyses run in the analysis worker process
    (one worker for the refresh tests: its start-up, imports and model load, takes seconds)."""
    p, prepared, label_map = prepared_case
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(process_tree.LOGS_ENV, str(tmp_path_factory.mktemp("logs")))
        app = SceneApp.create()
        case_scene = CaseScene(app.scene, prepared, Analyzer(prepared), label_map)
        try:
            case_scene.refresher.request(None)
            case_scene.refresher.wait(WORKER_START_SECONDS)
            yield app, case_scene, p
        finally:
            case_scene.close()


def test_phases_are_volumes_named_by_phase_in_physical_space(loaded):
    _app, case_scene, p = loaded
    assert set(case_scene.nodes.volumes) == {"N", "A", "V"}
    for letter, node in case_scene.nodes.volumes.items():
        assert node.GetName() == f"scene-test {Phase(letter).long_name}"
        display = node.GetDisplayNode()
        assert (display.GetWindow(), display.GetLevel()) == (350.0, 40.0)
    arterial = case_scene.nodes.volumes["A"]
    reference = p.images[Phase.ARTERIAL]
    matrix = vtk.vtkMatrix4x4()
    arterial.GetIJKToRASMatrix(matrix)
    got = np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(4)])
    np.testing.assert_allclose(got, ijk_to_ras(reference), atol=1e-6)
    # voxel [k, j, i] of the node is voxel (i, j, k) of the image: a corner voxel maps to the same point
    index = (5, 17, 30)
    lps = reference.TransformIndexToPhysicalPoint(index)
    np.testing.assert_allclose((got @ np.append(index, 1.0))[:3], lps_to_ras(lps), atol=1e-6)
    np.testing.assert_array_equal(volume_array(arterial), sitk.GetArrayFromImage(reference))


def test_segments_have_names_codes_colors_and_reference_geometry(loaded):
    _app, case_scene, p = loaded
    node = case_scene.nodes.segmentation
    segmentation = node.GetSegmentation()
    names = [segmentation.GetNthSegment(i).GetName() for i in range(segmentation.GetNumberOfSegments())]
    assert names == ["Kidney", "Renal tumor", "Renal cyst"]
    codes = {
        "Kidney": "SCT^64033007^Kidney",
        "Renal tumor": "SCT^108369006^Neoplasm",
        "Renal cyst": "SCT^367643001^Cyst",
    }
    spec = {s["name"]: s for s in segment_terminology()["segments"].values()}
    for i in range(segmentation.GetNumberOfSegments()):
        segment = segmentation.GetNthSegment(i)
        tag = vtk.reference("")
        assert segment.GetTag(slicer.vtkSegment.GetTerminologyEntryTagName(), tag)
        assert codes[segment.GetName()] in str(tag)
        entry = slicer.vtkSlicerTerminologyEntry()
        assert slicer.vtkSlicerTerminologiesModuleLogic.DeserializeTerminologyEntry(str(tag), entry)
        assert entry.GetTypeObject().GetCodeValue() == codes[segment.GetName()].split("^")[1]
        np.testing.assert_allclose(segment.GetColor(), np.array(spec[segment.GetName()]["color"]) / 255)
        if segment.GetName() != "Kidney":  # masses are coded with the kidney as anatomic region
            assert entry.GetRegionObject().GetCodeValue() == "64033007"
    geometry = segmentation.GetConversionParameter("Reference image geometry")
    assert geometry, "reference geometry not set"
    # The tumor segment holds exactly the tumor voxels of the label map.
    tumor_id = segmentation.GetSegmentIdBySegmentName("Renal tumor")
    labelmap = slicer.vtkOrientedImageData()
    node.GetBinaryLabelmapRepresentation(tumor_id, labelmap)
    voxels = int(np.count_nonzero(numpy_support.vtk_to_numpy(labelmap.GetPointData().GetScalars())))
    assert voxels == int((sitk.GetArrayViewFromImage(p.labels) == 2).sum())


def test_nodes_live_under_the_case_study_in_subject_hierarchy(loaded):
    app, case_scene, _ = loaded
    hierarchy = slicer.vtkMRMLSubjectHierarchyNode.GetSubjectHierarchyNode(app.scene)
    study = case_scene.study_item
    assert hierarchy.GetItemName(hierarchy.GetItemParent(study)) == "scene-test"
    for node in [*case_scene.nodes.volumes.values(), case_scene.nodes.segmentation, case_scene.nodes.center]:
        assert hierarchy.GetItemParent(hierarchy.GetItemByDataNode(node)) == study


def test_center_fiducial_and_voi_sit_on_the_lesion(loaded, prepared_case):
    _, case_scene, _ = loaded
    _, prepared, _ = prepared_case
    center = case_scene.nodes.center
    assert center.GetNumberOfControlPoints() == 1 and center.GetMaximumNumberOfControlPoints() == 1
    assert center.GetNthControlPointLabel(0) == markers.CENTER_NAME
    np.testing.assert_allclose(markers.center_of(center), lps_to_ras(prepared.center_lps), atol=1e-6)
    roi = case_scene.nodes.voi
    size, middle = roi.GetSize(), [0.0] * 3
    roi.GetCenter(middle)
    np.testing.assert_allclose(size, (140.0, 140.0, 160.0))
    np.testing.assert_allclose(middle, lps_to_ras(prepared.center_lps), atol=1e-6)


def test_results_table_holds_what_the_engine_computed(loaded, prepared_case):
    _, case_scene, _ = loaded
    _, prepared, _ = prepared_case
    direct = Analyzer(prepared).run()
    rows = {row["task"]: row for row in table_rows(case_scene.nodes.table)}
    assert set(rows) == {"malignancy", "aggressiveness"}
    for task, row in rows.items():
        assert float(row["probability"]) == pytest.approx(direct.predictions[task].probability, abs=1e-4)
        assert row["phases_used"] == "N A V" and row["demo"] == "yes"
        assert row["model_id"] == "demo-early-fusion-resnet18"
        assert row["center_source"] == "segmentation" and row["time"]
        ras = np.array(row["center_ras_mm"].split(), dtype=float)
        lps = np.array(row["center_lps_mm"].split(), dtype=float)
        np.testing.assert_allclose(ras, lps * [-1, -1, 1], atol=0.051)
    assert float(rows["aggressiveness"]["score_0_10"]) == pytest.approx(
        10 * float(rows["aggressiveness"]["probability"]), abs=0.06
    )
    params = parameters.parameter_node(case_scene.scene)
    assert params.GetNodeReferenceID("resultsTable") == case_scene.nodes.table.GetID()
    assert params.GetNodeReferenceID("arterialVolume") == case_scene.nodes.volumes["A"].GetID()
    assert params.GetNodeReferenceID("tumorCenter") == case_scene.nodes.center.GetID()
    assert params.GetParameter("malignancyModel").endswith("demo-early-fusion-resnet18")
    assert params.GetParameter("aggressivenessModel") == params.GetParameter("malignancyModel")
    assert params.GetParameter("preprocessing") == "authors-code"


def test_dragging_the_center_in_the_slice_view_refreshes_the_results(live):
    app, case_scene, _ = live
    before = {row["task"]: row for row in table_rows(case_scene.nodes.table)}
    heat = case_scene.heatmap("malignancy")
    heat_origin = heat.GetOrigin()
    view = SliceView(app, "Red", (400, 400))
    try:
        view.show(case_scene.nodes.volumes["A"].GetID())
        start_ras = markers.center_of(case_scene.nodes.center)
        view.zoom_to(start_ras, 160.0)
        view.render()
        start = view.ras_to_display(start_ras)
        view.drag(start, (start[0] + 40, start[1] - 10))
        case_scene.refresher.wait()
        moved = np.array(markers.center_of(case_scene.nodes.center))
        mm_per_pixel = 160.0 / 400
        # screen right is patient left (-R), screen down is posterior (-A); the axial plane is unchanged
        np.testing.assert_allclose(moved - start_ras, (-40 * mm_per_pixel, -10 * mm_per_pixel, 0.0), atol=mm_per_pixel)
    finally:
        view.close()
    after = {row["task"]: row for row in table_rows(case_scene.nodes.table)}
    assert all(row["center_source"] == "user" for row in after.values())
    assert any(after[t]["probability"] != before[t]["probability"] for t in after)
    np.testing.assert_allclose(np.array(after["malignancy"]["center_ras_mm"].split(), dtype=float), moved, atol=0.051)
    roi_center = [0.0] * 3
    case_scene.nodes.voi.GetCenter(roi_center)
    np.testing.assert_allclose(roi_center, moved, atol=1e-6)
    assert heat.GetOrigin() != heat_origin  # the same heat-map node now shows the new patch


def test_a_programmatic_move_refreshes_and_moving_back_restores(live, prepared_case):
    _, case_scene, _ = live
    _, prepared, _ = prepared_case
    automatic = lps_to_ras(prepared.center_lps)
    markers.move_center(case_scene.nodes.center, np.add(automatic, (8.0, 0.0, 0.0)))
    assert case_scene.refresher.busy  # the analysis runs in the worker process
    deadline = time.monotonic() + 60
    while case_scene.refresher.busy and time.monotonic() < deadline:  # as the module's self-test waits
        time.sleep(0.02)
    assert not case_scene.refresher.busy
    assert case_scene.refresher.apply_finished() is case_scene.analysis
    moved = table_rows(case_scene.nodes.table)
    assert moved[0]["center_source"] == "user"
    markers.move_center(case_scene.nodes.center, automatic)
    case_scene.refresher.wait()
    back = {row["task"]: row for row in table_rows(case_scene.nodes.table)}
    direct = Analyzer(prepared).run()  # the engine in this process, at the automatic center
    for task, row in back.items():
        assert row["center_source"] == "segmentation"
        assert row["probability"] == f"{direct.predictions[task].probability:.4f}"
    assert [r["probability"] for r in moved] != [back[r["task"]]["probability"] for r in moved]


def test_a_request_while_an_answer_waits_unread_returns_at_once(live, prepared_case):
    """The old threaded refresher could deadlock here (a done future's callback re-entering its lock)."""
    _, case_scene, _ = live
    _, prepared, _ = prepared_case
    refresher = case_scene.refresher
    first, second = (np.add(prepared.center_lps, (d, 0.0, 0.0)) for d in (3.0, -3.0))
    refresher.request(first)
    readable, _, _ = select.select([refresher.client.process.stdout.fileno()], [], [], 60)
    assert readable  # the worker has answered; nobody has read the answer yet
    caller = threading.Thread(target=refresher.request, args=(second,), daemon=True)
    caller.start()
    caller.join(5.0)
    assert not caller.is_alive()
    analysis = refresher.wait()
    np.testing.assert_allclose(analysis.center_lps, second)
    assert case_scene.analysis is analysis


def test_wait_honours_its_timeout_while_the_worker_is_still_analyzing(live, prepared_case):
    _, case_scene, _ = live
    _, prepared, _ = prepared_case
    center = np.add(prepared.center_lps, (0.0, 4.0, 0.0))
    case_scene.refresher.request(center)  # an analysis takes hundreds of milliseconds
    start = time.monotonic()
    with pytest.raises(TimeoutError, match="did not answer within 0.05 s"):
        case_scene.refresher.wait(timeout=0.05)
    assert time.monotonic() - start < 0.5
    assert case_scene.refresher.busy  # the request carries on ...
    np.testing.assert_allclose(case_scene.refresher.wait().center_lps, center)  # ... and is applied later


def test_gradcam_overlay_uses_a_heat_table_with_zero_threshold_and_opacity(loaded):
    app, case_scene, _ = loaded
    heat = case_scene.heatmap("malignancy", "A")
    assert heat.GetName() == "Grad-CAM malignancy A"
    display = heat.GetDisplayNode()
    assert display.GetColorNodeID() == "vtkMRMLColorTableNodeIron"
    assert app.scene.GetNodeByID(display.GetColorNodeID()) is not None  # the table exists in the scene
    assert display.GetApplyThreshold() and display.GetLowerThreshold() > 0.0
    view = SliceView(app, "Red", (200, 200))
    try:
        heatmaps.show_overlay([view.composite], case_scene.nodes.volumes["A"], heat, 0.6)
        assert view.composite.GetForegroundVolumeID() == heat.GetID()
        assert view.composite.GetForegroundOpacity() == pytest.approx(0.6)
        heatmaps.set_overlay_opacity([view.composite], 0.25)
        assert view.composite.GetForegroundOpacity() == pytest.approx(0.25)
        with pytest.raises(ValueError, match="opacity"):
            heatmaps.set_overlay_opacity([view.composite], 1.5)
    finally:
        view.close()


def test_orientation_letters_follow_the_slice_orientation(loaded):
    app, _, _ = loaded
    expected = {
        "Red": {"left": "R", "right": "L", "top": "A", "bottom": "P"},
        "Green": {"left": "R", "right": "L", "top": "S", "bottom": "I"},
        "Yellow": {"left": "A", "right": "P", "top": "S", "bottom": "I"},
    }
    for name, letters in expected.items():
        view = SliceView(app, name, (100, 100))
        try:
            m = view.node.GetXYToRAS()
            assert orientation_letters(np.array([[m.GetElement(r, c) for c in range(4)] for r in range(4)])) == letters
        finally:
            view.close()


def test_annotations_are_burned_into_the_rendered_view(loaded):
    app, case_scene, _ = loaded
    view = SliceView(app, "Red", (400, 400))
    try:
        view.show(case_scene.nodes.volumes["A"].GetID())
        view.zoom_to(markers.center_of(case_scene.nodes.center), 160.0)
        plain = view.capture().astype(int)
        notes = annotate_view(view, case_scene.analysis, case_scene, "Axial", "malignancy")
        annotated = view.capture().astype(int)
    finally:
        view.close()
    texts = "\n".join(actor.GetInput() for actor in notes.actors)
    analysis = case_scene.analysis
    assert f"P(malignancy) = {analysis.predictions['malignancy'].probability:.2f}" in texts
    assert f"score {analysis.predictions['aggressiveness'].score_0_10:.1f}/10" in texts
    assert "phases N A V" in texts and "demo-early-fusion-resnet18" in texts and DEMO_BANNER in texts
    changed = np.abs(annotated - plain).sum(axis=-1) > 30
    assert changed[:60].any() and changed[-60:].any()  # text at the top and the banner at the bottom
    red_banner = (annotated[..., 0] > 150) & (annotated[..., 1] < 60) & (annotated[..., 2] < 60)
    assert red_banner[-80:].sum() > 500  # the red DEMO banner


def test_screenshots_are_written_non_blank_with_a_summary(tmp_path, loaded):
    app, case_scene, _ = loaded
    written = write_screenshots(app, case_scene, tmp_path)
    assert set(written) == {"axial", "coronal", "sagittal", "3d", "gradcam_malignancy", "gradcam_aggressiveness"}
    for name, file in written.items():
        pixels = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / file)))
        assert pixels.std() > 20, f"{name} looks blank"
    axial = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "axial.png"))).astype(int)
    segment_color = np.array(segment_terminology()["segments"]["tumor"]["color"])
    # the tumor outline is drawn in its color
    assert (np.abs(axial[..., :3] - segment_color).sum(axis=-1) < 40).sum() > 50
    threed = sitk.GetArrayFromImage(sitk.ReadImage(str(tmp_path / "3d.png"))).astype(int)
    kidney = np.array(segment_terminology()["segments"]["kidney"]["color"])
    assert (np.abs(threed[..., :3] - kidney).sum(axis=-1) < 120).sum() > 500  # the kidney surface is shaded


def test_analyze_writes_screenshots_and_summary_page(tmp_path, prepared_case):
    p, _, _ = prepared_case
    from RenalMassAILib.cli import main

    files = {k: str(v) for k, v in p.write(tmp_path / "case").items()}
    out = tmp_path / "out"
    assert (
        main(
            [
                "analyze",
                "--arterial",
                files["arterial"],
                "--venous",
                files["venous"],
                "--segmentation",
                files["segmentation"],
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    assert set(report["screenshots"]) >= {"axial", "coronal", "sagittal", "3d"}
    for file in report["screenshots"].values():
        assert (out / file).is_file()
    page = (out / "summary.html").read_text()
    assert DEMO_BANNER in page and "screenshots/axial.png" in page
    assert f"{report['predictions']['malignancy']['probability']:.3f}" in page


def test_screenshots_leave_the_users_views_and_scene_as_they_were(tmp_path, loaded):
    app, case_scene, _ = loaded
    red = SliceView(app, "Red", (300, 300))
    try:
        red.show(case_scene.nodes.volumes["V"].GetID())
        field_of_view = red.node.GetFieldOfView()
        display = case_scene.nodes.segmentation.GetDisplayNode()
        display.SetOpacity2DFill(0.7)
        before = {app.scene.GetNthNode(i).GetID() for i in range(app.scene.GetNumberOfNodes())}
        write_screenshots(app, case_scene, tmp_path)
        after = {app.scene.GetNthNode(i).GetID() for i in range(app.scene.GetNumberOfNodes())}
        assert after - before <= {n.GetID() for n in case_scene.nodes.heatmaps.values()}  # no view nodes left
        assert red.node.GetFieldOfView() == field_of_view
        assert display.GetOpacity2DFill() == pytest.approx(0.7)  # the user's display setting is back
        assert red.composite.GetBackgroundVolumeID() == case_scene.nodes.volumes["V"].GetID()
    finally:
        red.close()


def test_segmentation_node_round_trips_to_the_label_map(loaded, prepared_case):
    from RenalMassAILib.scene.segmentation import label_map_from_segmentation

    _app, case_scene, _p = loaded
    _, prepared, label_map = prepared_case
    reference = case_scene.nodes.volumes["A"]
    back = label_map_from_segmentation(case_scene.nodes.segmentation, reference, prepared.case.reference)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(back.image), sitk.GetArrayFromImage(label_map.image))
    # Renamed segments are still recognised by their terminology code; without a tumor: a clear error.
    segmentation = case_scene.nodes.segmentation.GetSegmentation()
    segmentation.GetNthSegment(1).SetName("Lesion A")
    again = label_map_from_segmentation(case_scene.nodes.segmentation, reference, prepared.case.reference)
    assert (sitk.GetArrayViewFromImage(again.image) == 2).sum() == (
        sitk.GetArrayViewFromImage(label_map.image) == 2
    ).sum()
    segmentation.RemoveSegment(segmentation.GetNthSegmentID(1))
    from RenalMassAILib.errors import InputError

    with pytest.raises(InputError, match="no tumor segment"):
        label_map_from_segmentation(case_scene.nodes.segmentation, reference, prepared.case.reference)


def test_volume_nodes_convert_back_to_the_same_image(loaded):
    from RenalMassAILib.scene.volumes import volume_to_image

    _, case_scene, p = loaded
    image = volume_to_image(case_scene.nodes.volumes["A"])
    original = p.images[Phase.ARTERIAL]
    np.testing.assert_allclose(image.GetOrigin(), original.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(image.GetDirection(), original.GetDirection(), atol=1e-9)
    np.testing.assert_allclose(image.GetSpacing(), original.GetSpacing(), atol=1e-9)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), sitk.GetArrayFromImage(original))


def test_phase_names_assign_volumes():
    from RenalMassAILib.case.phase_detection import phase_from_name

    assert phase_from_name("CT ABD ARTERIAL 1.5mm") == Phase.ARTERIAL
    assert phase_from_name("nephrographic") == Phase.VENOUS
    assert phase_from_name("Non-contrast") == Phase.NON_CONTRAST
    assert phase_from_name("Delayed venous") is None and phase_from_name("scan 3") is None
