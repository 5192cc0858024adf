"""`renalmassai serve` in a child process, and a reader's page in headless Chromium, as a user drives it.

For the browser test and the web bench: `ServedViewer` starts the launcher on a free local port and
stops it as Ctrl+C / a service manager does (SIGTERM); `ReviewPage` opens a case, drags the tumour
centre in the axial view and reads the figures, all through the page (clicks, mouse events, the
elements a reader reads).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil

from RenalMassAILib.web.headless_browser import Page
from RenalMassAILib.web.launcher import free_port

FIGURES = ("p-malignancy", "p-aggressiveness", "score", "center", "status", "case-error", "demo-banner", "segmentation")


class ServedViewer:
    def __init__(self, cases: Path, log_path: Path, environment: dict | None = None, options: tuple = ()):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        command = [sys.executable, "-m", "RenalMassAILib", "serve", "--cases", str(cases), "--port", str(self.port)]
        self.log = open(log_path, "ab")  # noqa: SIM115 (open for the life of the process)
        self.process = subprocess.Popen(
            [*command, *options],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(environment or {})},
            start_new_session=True,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 180.0) -> None:
        """Until the launcher answers and its spare session is up (as when a reader arrives later)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"renalmassai serve ended with status {self.process.returncode}")
            with contextlib.suppress(OSError):
                if self.health()["spare_ready"]:
                    return
            time.sleep(0.2)
        raise TimeoutError("renalmassai serve or its spare session did not answer")

    def health(self) -> dict:
        with urllib.request.urlopen(f"{self.url}health", timeout=10) as answer:
            return json.loads(answer.read())

    def sessions(self) -> int:
        """Sessions given to pages (the spare not counted)."""
        return self.health()["sessions"]

    def processes(self) -> list[psutil.Process]:
        """The launcher and every process below it (session servers, their analysis workers)."""
        launcher = psutil.Process(self.process.pid)
        return [launcher, *launcher.children(recursive=True)]

    def session_trees(self) -> list[list[psutil.Process]]:
        """Each session server (the spare included) with the processes below it."""
        return [[child, *child.children(recursive=True)] for child in psutil.Process(self.process.pid).children()]

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM, as Ctrl+C or a service manager stops it; returns the exit status."""
        try:
            self.process.send_signal(signal.SIGTERM)
            return self.process.wait(timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()
            self.log.close()


class ReviewPage:
    def __init__(self, page: Page):
        self.page = page
        page.wait_for("document.getElementById('open-case') !== null", timeout=180)

    def figures(self) -> dict:
        return {element: self.page.text(element) for element in FIGURES}

    def analyses(self) -> int:
        return int(self.page.evaluate("window.trame.state.get('analysis_count')"))

    def set_state(self, name: str, value) -> None:
        """What a control does (the case list, the overlay slider): sets the page's state."""
        self.page.evaluate(f"window.trame.state.set({name!r}, {json.dumps(value)})")

    def open_case(self, name: str, timeout: float = 300.0) -> float:
        """Chooses the case and presses Open; seconds until the page shows its first probabilities (a
        case with a segmentation) or until the case is shown or refused (one without)."""
        self.set_state("case_name", name)
        opens, analyses = (
            self.page.evaluate(f"window.trame.state.get({key!r})") for key in ("open_count", "analysis_count")
        )
        start = time.perf_counter()
        self.page.click("open-case")
        self.page.wait_for(f"window.trame.state.get('open_count') > {opens}", timeout=timeout, interval=0.05)
        if self.page.evaluate("window.trame.state.get('status')").startswith("analyzing"):
            self.page.wait_for(f"window.trame.state.get('analysis_count') > {analyses}", timeout=timeout, interval=0.05)
        return time.perf_counter() - start

    def axial_view(self) -> tuple[float, float, float, float]:
        """x, y, width, height of the axial view (bottom right in the quad layout) in page pixels."""
        rects = self.page.evaluate(
            "Array.from(document.querySelectorAll('img.image-display-area'))"
            ".map(e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; })"
        )
        return tuple(max(rects, key=lambda r: (r[0] + r[1], r[0])))

    def drag_center(self, start: tuple[float, float], dx: float, dy: float, timeout: float = 120.0) -> float:
        """Drags the centre from `start` (page pixels; opening a case puts it in the middle of the axial
        view) by (dx, dy); seconds from the release until the page shows the analysis of where it was
        released: the last new analysis after which the page reports no refresh running for 0.5 s."""
        before = self.analyses()
        self.page.drag(start, (start[0] + dx, start[1] + dy))
        released = last_change = time.perf_counter()
        deadline = released + timeout
        seen = before
        while time.perf_counter() < deadline:
            count, refreshing = self.page.evaluate(
                "[window.trame.state.get('analysis_count'), window.trame.state.get('refreshing')]"
            )
            now = time.perf_counter()
            if count != seen:
                seen, last_change = count, now
            if seen > before and not refreshing and now - last_change > 0.5:
                return last_change - released
            time.sleep(0.02)
        raise TimeoutError(f"no analysis shown within {timeout:.0f} s of the drag")

    def axial_center(self) -> tuple[float, float]:
        x, y, width, height = self.axial_view()
        return x + width / 2, y + height / 2
