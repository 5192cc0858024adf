"""The web viewer in a real browser: `renalmassai serve` driven by headless Chromium over DevTools.

One launcher serves a folder of four cases (the bundled demo case, a phantom with its label map, the
same phantom without one, a file that is not an image). Reader A opens the demo case, sees the DEMO
banner and the probabilities, switches the Grad-CAM overlay on and off and the phase under it (the
screenshot of the axial view changes, in heat colours), drags the centre with mouse events (new
probabilities, centre recorded as the reader's) and exports (the downloaded report has the page's
numbers). Reader B, in a second tab, gets a session process of its own and sees only its own case; the
unreadable case is refused on the page; B segments the case without a label map (cancelled once, then
to the end with Faster (INT8) ticked). The launcher then stops on SIGTERM and leaves no process and no
patient file behind.
"""

import io
import json
import shutil
import urllib.request
import zipfile

import numpy as np
import psutil
import pytest
from PIL import Image

from conftest import phantom
from RenalMassAILib.resources import demo_case_dir
from RenalMassAILib.web.headless_browser import Browser
from RenalMassAILib.web.served_viewer import ReviewPage, ServedViewer


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("web")
    cases = root / "cases"
    shutil.copytree(demo_case_dir(), cases / "demo")
    second = phantom(seed=5, size=(128, 128, 48), spacing=(2.2, 2.2, 3.0), side="left", subtype="oncocytoma")
    second.write(cases / "second")
    unsegmented = second.write(cases / "unsegmented")
    unsegmented["segmentation"].unlink()
    (cases / "broken").mkdir()
    (cases / "broken" / "arterial.nii.gz").write_bytes(b"not an image")
    server_temp = root / "server-temp"
    server_temp.mkdir()
    viewer = ServedViewer(cases, root / "serve.log", {"TMPDIR": str(server_temp)})
    browser = Browser()
    try:
        yield viewer, browser, server_temp
    finally:
        browser.close()
        if viewer.process.poll() is None:
            viewer.stop()


def _axial_pixels(reader: ReviewPage) -> np.ndarray:
    x, y, width, height = (round(v) for v in reader.axial_view())
    page = np.asarray(Image.open(io.BytesIO(reader.page.screenshot())).convert("RGB")).astype(np.int16)
    return page[y : y + height, x : x + width]


def _axial_after(reader: ReviewPage, name: str, value) -> np.ndarray:
    """The axial view once the page shows a control's new value: changed from before, then two
    screenshots alike (the server re-rendered the view and streamed it). Unchanged after 20 s: the last one."""
    before = _axial_pixels(reader)
    reader.set_state(name, value)
    pixels, changed = before, False
    for _ in range(80):
        reader.page.evaluate("new Promise(r => setTimeout(r, 250))")
        latest = _axial_pixels(reader)
        if changed and np.array_equal(latest, pixels):
            return latest
        changed = changed or not np.array_equal(latest, before)
        pixels = latest
    return pixels


def test_two_readers_review_their_own_cases_and_the_server_stops_cleanly(served):
    viewer, browser, server_temp = served
    reader = ReviewPage(browser.open(viewer.url))
    assert reader.page.evaluate("window.trame.state.get('case_names')") == ["broken", "demo", "second", "unsegmented"]
    reader.open_case("demo")
    opened = reader.figures()
    assert opened["case-error"] in (None, ""), opened
    assert opened["demo-banner"].startswith("DEMO"), opened
    p_malignant = float(opened["p-malignancy"])
    assert 0.5 < p_malignant <= 1.0 and float(opened["p-aggressiveness"]) > 0.5  # the demo case: a grade-3 ccRCC
    assert opened["center"].endswith("(segmentation)")

    # The Grad-CAM overlay is drawn in the axial view: heat colours (red over grey) appear with it.
    without = _axial_after(reader, "overlay_opacity", 0.0)
    with_overlay = _axial_after(reader, "overlay_opacity", 0.8)
    changed = np.abs(with_overlay - without).sum(axis=2) > 30
    assert changed.sum() > 200, f"the overlay changed only {changed.sum()} pixels of the axial view"
    red, blue = with_overlay[..., 0][changed], with_overlay[..., 2][changed]
    assert np.mean(red > blue + 40) > 0.5, "the changed pixels are not heat-coloured"
    # The phase list: the non-contrast phase under the overlay looks different from the arterial one.
    assert [item["value"] for item in reader.page.evaluate("window.trame.state.get('phase_items')")] == ["A", "N", "V"]
    unenhanced = _axial_after(reader, "shown_phase", "N")
    assert (np.abs(unenhanced - with_overlay).sum(axis=2) > 30).sum() > 200

    # A drag of the centre with the mouse gives new numbers, and the centre is the reader's.
    seconds = reader.drag_center(reader.axial_center(), 25, 15)
    moved = reader.figures()
    assert moved["center"].endswith("(user)") and moved["center"] != opened["center"], moved
    assert float(moved["p-malignancy"]) != p_malignant
    assert seconds < 60

    # Reader B: a session process of its own, its own case; A's page does not change.
    other = ReviewPage(browser.open(viewer.url))
    assert viewer.sessions() == 2
    other.open_case("second")
    theirs = other.figures()
    assert theirs["case-error"] in (None, ""), theirs
    assert theirs["center"] != moved["center"] and theirs["center"].endswith("(segmentation)")
    assert reader.figures()["center"] == moved["center"]
    assert reader.figures()["p-malignancy"] == moved["p-malignancy"]

    # A case that cannot be read is refused on the page, in one line naming the file.
    other.open_case("broken")
    refused = other.figures()["case-error"]
    assert "arterial" in refused and "broken" in refused and "Error:" not in refused, refused

    # B segments the case without a label map, then cancels: the worker's progress shows, then stops.
    other.open_case("unsegmented")
    assert "press Segment" in other.figures()["status"]
    other.page.click("segment")
    other.page.wait_for("window.trame.state.get('status').startsWith('segmentation')", 120)
    other.page.click("cancel")
    other.page.wait_for("window.trame.state.get('status') === 'segmentation cancelled'", 60)
    assert not any("segmentation_worker" in " ".join(p.cmdline()) for p in _alive(viewer.processes()))
    # ... and segments it to the end with Faster (INT8) ticked: the demo segmentation model's label map is
    # analyzed and marked DEMO, and the page says the network ran in OpenVINO INT8.
    assert other.figures()["segmentation"] == ""  # nothing has segmented this case yet
    other.page.click("segmentation-int8")
    other.page.wait_for("window.trame.state.get('segmentation_int8') === true", 30)
    analyses = other.analyses()
    other.page.click("segment")
    other.page.wait_for(f"window.trame.state.get('analysis_count') > {analyses}", 600)
    segmented = other.figures()
    assert segmented["center"].endswith("(segmentation)") and segmented["demo-banner"].startswith("DEMO"), segmented
    assert 0.0 <= float(segmented["p-malignancy"]) <= 1.0
    assert segmented["segmentation"].startswith("segmentation: model demo-nnunet"), segmented
    assert "(DEMO)" in segmented["segmentation"] and "network in openvino int8" in segmented["segmentation"]

    # A exports: the download holds the report of what A's page shows.
    reader.page.click("export")
    link = reader.page.wait_for("window.trame.state.get('download_url')", timeout=300)
    page_url = reader.page.evaluate("window.location.href")
    with urllib.request.urlopen(page_url.rsplit("/", 1)[0] + "/" + link, timeout=60) as answer:
        archive = zipfile.ZipFile(io.BytesIO(answer.read()))
    report = json.loads(archive.read("report.json"))
    # the page shows 3 decimals; the export registers again, which varies in the 5th (ITK's threads)
    assert report["predictions"]["malignancy"]["probability"] == pytest.approx(float(moved["p-malignancy"]), abs=1e-3)
    assert report["lesion"]["center_source"] == "user" and "DEMO" in report["notice"]
    assert any(name.startswith("screenshots/") and name.endswith(".png") for name in archive.namelist())
    assert "dicom/summary.pdf" in archive.namelist()  # image files: no source study, the PDF only

    processes = viewer.processes()
    assert len(processes) >= 4  # launcher, two session servers, the analysis worker of A (B has no analysis open)
    assert viewer.stop() == 0
    psutil.wait_procs(processes, timeout=30)
    assert not _alive(processes)
    assert not [p.name for p in server_temp.iterdir() if p.name.startswith("renalmassai-")]


def _alive(processes) -> list:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def test_serve_stages_one_case_as_links_and_refuses_ambiguous_arguments(tmp_path):
    from RenalMassAILib.cli import build_parser
    from RenalMassAILib.cli.web_commands import _cases_folder
    from RenalMassAILib.errors import InputError
    from RenalMassAILib.web.case_folder import case_names, open_case

    folder = demo_case_dir()
    parser = build_parser()
    args = parser.parse_args(
        ["serve", "--arterial", str(folder / "arterial.nii.gz"), "--venous", str(folder / "venous.nii.gz"),
         "--segmentation", str(folder / "segmentation.nii.gz"), "--case-id", "mine"]
    )  # fmt: skip
    cases, staged = _cases_folder(args)
    try:
        assert case_names(cases) == ["mine"]
        opened = open_case(cases, "mine")
        assert [p.value for p in opened.case.phases] == ["A", "V"] and opened.label_map is not None
        assert all(path.is_symlink() for path in (cases / "mine").iterdir())  # nothing copied
        with pytest.raises(InputError, match="not in the served folder"):
            open_case(cases, "../DemoCase")
    finally:
        shutil.rmtree(staged)
    for arguments in (["serve"], ["serve", "--cases", str(tmp_path), "--case", str(folder)]):
        with pytest.raises(InputError, match="exactly one of"):
            _cases_folder(parser.parse_args(arguments))


def test_a_case_folder_of_dicom_series_is_read_with_its_phases_detected(tmp_path):
    from RenalMassAILib.case.phase import Phase
    from RenalMassAILib.phantom.dicom_export import write_dicom_series
    from RenalMassAILib.web.case_folder import case_names, open_case

    case = phantom(seed=5, size=(96, 96, 24), spacing=(2.5, 2.5, 4.0), side="left")
    write_dicom_series(case.images[Phase.ARTERIAL], tmp_path / "study" / "s2", "Arterial 5mm", "Iohexol", "100035", 2)
    write_dicom_series(case.images[Phase.VENOUS], tmp_path / "study" / "s3", "Venous 5mm", "Iohexol", "100130", 3)
    assert case_names(tmp_path) == ["study"]
    opened = open_case(tmp_path, "study")
    assert opened.case.phases == (Phase.ARTERIAL, Phase.VENOUS) and opened.label_map is None
    assert opened.image_files == ()  # the export reads the DICOM folder itself (--auto FOLDER)


def test_a_label_map_keeps_the_record_segment_wrote_beside_it(tmp_path):
    """`renalmassai segment` writes segmentation.json beside the label map; `analyze --segmentation`
    (and the web viewer's case folders) read it, so a demo segmentation model still makes the result DEMO."""
    from RenalMassAILib.errors import InputError
    from RenalMassAILib.lesion.segmentation_record import record_beside

    labels = tmp_path / "segmentation.nii.gz"
    labels.write_bytes(b"")
    assert record_beside(labels) is None
    (tmp_path / "segmentation.json").write_text(json.dumps({"model": {"id": "demo-nnunet", "demo": True}}))
    assert record_beside(labels)["model"]["demo"] is True
    (tmp_path / "segmentation.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="has no 'model' object"):
        record_beside(labels)
