"""One reader's trame server: its own process, scene, analysis worker and temporary folder.

`renalmassai serve` starts one of these per browser session (web.launcher) and forwards the page and
its websocket to it, so nothing of one reader's case is in another's process. Run alone for
development: `python -m RenalMassAILib.web.session_server --cases FOLDER --port 8081`.

The page never waits on the server's thread for long work: reading and registering a case run in a
thread (no MRML there), analyses in the analysis worker process, segmentation in the segmentation
worker process; a timer task applies what has finished to the scene and the page.

The torch side (pipeline -> torch, torchvision, triton) is imported with this module, before SlicerApp
makes its first render window: imported later (after Mesa's llvmpipe has loaded its LLVM), triton's own
LLVM crashed the process (SIGSEGV in triton/knobs.py, every time here). Do not make it lazy.
"""

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from trame.app import get_server
from trame_slicer import module as trame_slicer_module
from trame_slicer.core import LayoutManager, SlicerApp
from trame_slicer.rca_view import register_rca_factories

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.segmentation_record import run_summary
from RenalMassAILib.scene.screenshots import model_line
from RenalMassAILib.web.case_folder import case_names
from RenalMassAILib.web.review_page import build_page
from RenalMassAILib.web.review_session import DEMO_BANNER, ReviewSession

POLL_SECONDS = 0.05
LAYOUT = "Quad View"  # axial, coronal, sagittal and 3D
EXPORTS_ROUTE = "exports"


class SessionServer:
    def __init__(self, cases_folder: Path, options: dict, server=None):
        self.server = server or get_server(client_type="vue3")
        self.server.enable_module(trame_slicer_module)
        self.app = SlicerApp()
        register_rca_factories(self.app.view_manager, self.server)
        self.layouts = LayoutManager(self.app.scene, self.app.view_manager, self.server)
        self.layouts.register_layout_dict(LayoutManager.default_grid_configuration())
        self.layouts.set_layout(LAYOUT)
        self.session = ReviewSession(self.app, cases_folder, options)
        self.server.serve[EXPORTS_ROUTE] = str(self.session.folder)
        self._shown = None  # the Analysis the page shows
        self._parent = os.getppid()
        self._init_state(cases_folder)
        controller = self.server.controller
        controller.open_case = self.open_case
        controller.segment = self.segment
        controller.cancel = self.cancel
        controller.export = self.export
        self.server.state.change("overlay_task", "overlay_opacity", "shown_phase")(self._on_overlay_changed)
        controller.on_server_ready.add(self._start_polling)
        build_page(self.server, self.layouts, controller)

    def _init_state(self, cases_folder: Path) -> None:
        state = self.server.state
        state.trame__title = "RenalMassAI review"
        names = case_names(cases_folder)
        state.update(
            {
                "case_names": names,
                "case_name": names[0] if names else None,
                "case_open": False,
                "busy_opening": False,
                "segmenting": False,
                "segmentation_int8": False,
                "segmentation_text": "",
                "analyzed": False,
                "status": "choose a case and press Open",
                "case_error": "",
                "demo_banner": "",
                "p_malignancy": "-",
                "p_aggressiveness": "-",
                "score": "-",
                "center_text": "",
                "model_text": "",
                "download_url": "",
                "download_name": "",
                "analysis_count": 0,
                "phase_items": [],
                "shown_phase": None,
                "open_count": 0,
                "refreshing": False,
            }
        )

    # --- controls -------------------------------------------------------------------------------

    async def open_case(self, name: str) -> None:
        state = self.server.state
        with state:
            state.update({"busy_opening": True, "case_error": "", "status": f"reading {name} ...", "analyzed": False})
        try:
            opened = await asyncio.to_thread(self.session.read, name)
            prepared = analyzer = None
            if opened.label_map is not None:
                state.status = "registering the phases and preparing the inputs ..."
                state.flush()
                prepared, analyzer = await asyncio.to_thread(self.session.prepare, opened, opened.label_map)
            self.session.show(opened, opened.label_map, prepared, analyzer)
            self._shown = None
            state.case_open = True
            state.segmentation_text = _segmentation_text(opened.segmentation_record)
            state.phase_items = self.session.phases()
            state.shown_phase = state.phase_items[0]["value"]
            state.status = (
                "analyzing at the centre of the segmented tumour ..."
                if prepared is not None
                else "no segmentation in this case folder: press Segment"
            )
        except Exception as error:  # shown on the page, never swallowed: the reader must know Open failed
            state.case_error = error_line(error)
            state.status = ""
        finally:
            state.busy_opening = False
            state.open_count += 1  # each Open ends here, read or refused (the browser test waits on it)
            state.flush()

    def segment(self) -> None:
        state = self.server.state
        try:
            self.session.start_segmentation(int8=bool(state.segmentation_int8))
            state.update({"segmenting": True, "status": "segmentation started", "case_error": ""})
        except Exception as error:
            state.case_error = error_line(error)

    def cancel(self) -> None:
        self.session.cancel_segmentation()
        self.server.state.update({"segmenting": False, "status": "segmentation cancelled"})

    async def export(self) -> None:
        state = self.server.state
        with state:
            state.update({"status": "exporting screenshots, report and summary ...", "download_url": ""})
        try:
            archive = await asyncio.to_thread(self.session.export)
            state.update(
                {
                    "download_url": f"{EXPORTS_ROUTE}/{archive.name}",
                    "download_name": archive.name,
                    "status": "export ready",
                }
            )
        except Exception as error:
            state.update({"case_error": error_line(error), "status": ""})
        state.flush()

    def _on_overlay_changed(self, overlay_task, overlay_opacity, shown_phase, **_) -> None:
        self.session.show_overlay(overlay_task, float(overlay_opacity), shown_phase)

    # --- polling --------------------------------------------------------------------------------

    def _start_polling(self, **_) -> None:
        asyncio.get_event_loop().create_task(self._poll_forever())

    async def _poll_forever(self) -> None:
        while True:
            if os.getppid() != self._parent:  # the launcher was killed: nobody else will end this session
                await self.server.stop()
                return
            try:
                await self._poll_once()
            except Exception as error:  # shown on the page; the server goes on for the next action
                with self.server.state as state:
                    state.case_error = error_line(error)
            await asyncio.sleep(POLL_SECONDS)

    async def _poll_once(self) -> None:
        state = self.server.state
        line, labels = self.session.segmentation_progress()
        if line:
            with state:
                state.status = line
        if labels is not None:
            opened = self.session.opened
            with state:
                state.update(
                    {
                        "segmenting": False,
                        "status": "registering the phases and preparing the inputs ...",
                        "segmentation_text": _segmentation_text(self.session.segmentation),
                    }
                )
            prepared, analyzer = await asyncio.to_thread(self.session.prepare, opened, labels)
            self.session.show(opened, labels, prepared, analyzer)
        if self.session.error:
            with state:
                state.case_error, self.session.error = self.session.error, None
        analysis = self.session.poll()
        refreshing = self.session.busy
        if state.refreshing != refreshing:
            with state:
                state.refreshing = refreshing
        if analysis is not None and analysis is not self._shown:
            first = self._shown is None
            self._shown = analysis
            if first:
                self.session.show_overlay()
            with state:
                state.update(figures(analysis))
                state.analysis_count += 1

    def start(self, host: str, port: int, timeout: int) -> None:
        """Serves until stopped, or `timeout` seconds after the last page closed (wslink's timeout)."""
        try:
            self.server.start(host=host, port=port, open_browser=False, timeout=timeout, show_connection_info=False)
        finally:
            self.session.close()


def error_line(error: Exception) -> str:
    """One line for the page: an input error as it is, anything else with its type (a fault of ours)."""
    return str(error) if isinstance(error, InputError) else f"{type(error).__name__}: {error}"


def _segmentation_text(record: dict | None) -> str:
    """What drew the case's label map (lesion.segmentation_record.run_summary); '' without a record."""
    return f"segmentation: {run_summary(record)}" if record else ""


def figures(analysis) -> dict:
    """The page's figures for one analysis."""
    predictions = analysis.predictions
    values = {
        "p_malignancy": f"{predictions['malignancy'].probability:.3f}" if "malignancy" in predictions else "-",
        "p_aggressiveness": (
            f"{predictions['aggressiveness'].probability:.3f}" if "aggressiveness" in predictions else "-"
        ),
        "score": f"{predictions['aggressiveness'].score_0_10:.1f}" if "aggressiveness" in predictions else "-",
        "center_text": "centre (LPS mm): "
        + ", ".join(f"{c:.1f}" for c in analysis.center_lps)
        + f" ({analysis.center_source})",
        "model_text": model_line(analysis).replace("\n", "; "),
        "demo_banner": DEMO_BANNER if analysis.demo else "",
        "analyzed": True,
        "status": f"analysis at {time.strftime('%H:%M:%S')}",
    }
    return values


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="renalmassai-session", description=__doc__.splitlines()[0])
    parser.add_argument("--cases", required=True, help="folder of case folders")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: a free port, printed as 'port: N'")
    parser.add_argument(
        "--timeout", type=int, default=60, help="seconds after the last page closed to stop (0: the launcher decides)"
    )
    parser.add_argument("--preprocessing")
    parser.add_argument("--malignancy-model")
    parser.add_argument("--aggressiveness-model")
    parser.add_argument("--seg-model")
    args, _ = parser.parse_known_args(argv)
    options = {
        "preprocessing": args.preprocessing,
        "malignancy_model": args.malignancy_model,
        "aggressiveness_model": args.aggressiveness_model,
        "seg_model": args.seg_model,
    }
    try:
        server = SessionServer(Path(args.cases), options)
    except InputError as error:
        print(f"renalmassai serve: {error}", file=sys.stderr)
        return 2
    # The launcher ends a session with SIGTERM: leave through `finally` so that the session's patient
    # files and its worker go too.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    server.start(args.host, args.port, args.timeout)
    return 0


def _exit_on_signal(signum, _frame) -> None:
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
