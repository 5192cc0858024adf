"""What a reader waits for in the web viewer, measured in headless Chromium through `renalmassai serve`.

- page ready: the viewer's address opened until the page's controls are there, once `serve` has
  started its spare session (the usual case), and for a second reader right after the first (while
  the next spare is still starting);
- case open: Open pressed on the bundled demo case until its probabilities are shown (reading,
  registration, the analysis worker's start and first analysis);
- drag: the tumour centre dragged in the axial view with mouse events, from the release until the
  page shows the analysis of where it was released (`repeats` drags, back and forth);
- memory: the resident memory of the session with the case (session server + its analysis worker), of
  an idle session and of the launcher, read with psutil after the drags.
Default options throughout (the bundled demo models, 2 CPU threads where the machine has 2).
"""

import shutil
import statistics
import tempfile
import time
from pathlib import Path

import psutil

from RenalMassAILib.resources import demo_case_dir
from RenalMassAILib.web.headless_browser import Browser
from RenalMassAILib.web.served_viewer import ReviewPage, ServedViewer

DRAG_PIXELS = (20, 12)


def run(size=None, repeats: int = 20, log=None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="renalmassai-bench-web-"))
    viewer = browser = None
    try:
        shutil.copytree(demo_case_dir(), folder / "cases" / "demo")
        viewer = ServedViewer(folder / "cases", folder / "serve.log", {"TMPDIR": str(folder)})
        browser = Browser()
        start = time.perf_counter()
        reader = ReviewPage(browser.open(viewer.url))
        page_ready = time.perf_counter() - start  # the spare session was up: what a reader usually gets
        start = time.perf_counter()
        second = ReviewPage(browser.open(viewer.url))  # a second reader at once: the next spare is starting
        second_page_ready = time.perf_counter() - start
        second.page.close_tab()  # the drags below are measured with one page open
        case_open = reader.open_case("demo")
        _say(log, f"page ready {page_ready:.1f} s, case open {case_open:.1f} s")
        point = reader.axial_center()
        drags = []
        for i in range(max(int(repeats), 1)):
            sign = 1 if i % 2 == 0 else -1  # back and forth: the centre stays on the tumour
            dx, dy = sign * DRAG_PIXELS[0], sign * DRAG_PIXELS[1]
            drags.append(reader.drag_center(point, dx, dy))
            point = (point[0] + dx, point[1] + dy)
            _say(log, f"drag {i + 1}: {drags[-1] * 1000:.0f} ms")
        memory = _memory(viewer)
        return {
            "benchmark": "web",
            "page_ready_seconds": round(page_ready, 2),
            "next_page_at_once_seconds": round(second_page_ready, 2),
            "case_open_seconds": round(case_open, 2),
            "drags": len(drags),
            "drag_to_update_median_ms": round(statistics.median(drags) * 1000),
            "drag_to_update_min_ms": round(min(drags) * 1000),
            "drag_to_update_max_ms": round(max(drags) * 1000),
            **memory,
        }
    finally:
        if browser is not None:
            browser.close()
        if viewer is not None:
            viewer.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _memory(viewer: ServedViewer) -> dict:
    """RSS of the session with the open case (the largest tree), of an idle session (the smallest: the
    spare), and of the launcher."""
    sizes = sorted(sum(p.memory_info().rss for p in tree) for tree in viewer.session_trees())
    return {
        "session_rss_mib": round(sizes[-1] / 2**20),
        "idle_session_rss_mib": round(sizes[0] / 2**20),
        "launcher_rss_mib": round(viewer.processes()[0].memory_info().rss / 2**20),
        "cpu_threads": psutil.cpu_count(),
    }


def _say(log, text: str) -> None:
    if log:
        log(text)
