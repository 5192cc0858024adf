"""The GUI side of the analysis worker: start it, send center moves, collect analyses.

Coalescing: at most one request is in flight and only the latest center waits, so a drag that
produces many moves costs one or two analyses. Everything is driven by `poll`, which never blocks
with its default timeout (a GUI calls it from a timer) and uses no thread. `close()` ends the
worker's whole process tree and removes the temporary folder holding the patient images; a
finalizer does the same if the client is dropped without `close()`.
"""

import shutil
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

from RenalMassAILib.errors import InputError
from RenalMassAILib.workers import process_tree
from RenalMassAILib.workers.analysis_case import write_case_folder
from RenalMassAILib.workers.analysis_result import read_analysis
from RenalMassAILib.workers.pipe_lines import PipeLines, send
from RenalMassAILib.workers.worker_error import WorkerError

MODULE = "RenalMassAILib.workers.analysis_worker"
AUTOMATIC = None  # the center of a request for the automatic center (the segmentation's)
_NOTHING = object()


class AnalysisClient:
    def __init__(self, analyzer, python: str | None = None, threads: int | None = None):
        """Writes the analyzer's case to a temporary folder and starts the worker on it (the
        models load there, in the background: `ready` says when)."""
        self.temporary = Path(tempfile.mkdtemp(prefix="renalmassai-analysis-"))
        self.process: subprocess.Popen | None = None
        self._finalizer = weakref.finalize(self, _end, None, self.temporary)
        try:
            write_case_folder(analyzer, self.temporary)
            self.log_path = process_tree.new_log_path("analysis-worker")
            self.process = process_tree.start_worker(
                MODULE, [str(self.temporary)], self.log_path, python, threads, with_stdin=True
            )
        except BaseException:
            self._finalizer()
            raise
        self._finalizer.detach()
        self._finalizer = weakref.finalize(self, _end, self.process, self.temporary)
        self._lines = PipeLines(self.process.stdout)
        self.started = time.perf_counter()
        self.ready: dict | None = None  # the worker's ready message, with start-up figures
        self.ready_seconds: float | None = None  # process start + imports + model load, seen from here
        self.analyses = 0  # answers received (fewer than requests when moves were coalesced)
        self.last_worker_seconds: float | None = None  # the worker's own time for its last analysis
        self.failure: WorkerError | None = None
        self._pending = _NOTHING  # the latest center not yet sent
        self._in_flight: int | None = None
        self._next_id = 0
        self._finished: list = []  # Analysis or exception, oldest first

    # --- requests ---------------------------------------------------------------------------------

    def request(self, center_lps=AUTOMATIC) -> None:
        """Analyze at this center (LPS mm; None: the automatic center). Replaces a waiting request."""
        self._pending = None if center_lps is None else [float(c) for c in center_lps]
        self._send_pending()

    @property
    def busy(self) -> bool:
        return self.failure is None and (self._in_flight is not None or self._pending is not _NOTHING)

    def _send_pending(self) -> None:
        if self.failure is not None or self.ready is None or self._in_flight is not None or self._pending is _NOTHING:
            return
        self._next_id += 1
        try:
            send(self.process.stdin, {"type": "analyze", "id": self._next_id, "center_lps": self._pending})
        except OSError:
            self._fail("the analysis worker stopped taking requests")
            return
        self._pending, self._in_flight = _NOTHING, self._next_id

    # --- answers ----------------------------------------------------------------------------------

    def poll(self, timeout: float = 0.0) -> None:
        """Handles the worker's messages that arrived (waiting up to timeout for one); the
        finished analyses (or their errors) are then in `take_finished()`."""
        if self.failure is not None:
            return
        for message in self._lines.ready_messages(timeout):
            self._handle(message)
        if self._lines.ended and self.failure is None:
            self._fail("the analysis worker ended unexpectedly")
        self._send_pending()

    def take_finished(self) -> list:
        finished, self._finished = self._finished, []
        return finished

    def wait_idle(self, timeout: float) -> None:
        """Polls until nothing is in flight or waiting; TimeoutError after `timeout` seconds (the
        request carries on: a later poll picks its answer up)."""
        deadline = time.monotonic() + timeout
        while self.busy:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"the analysis worker did not answer within {timeout:g} s")
            self.poll(left)

    def _handle(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "ready":
            self.ready = message
            self.ready_seconds = time.perf_counter() - self.started
        elif kind == "result" and message.get("id") == self._in_flight:
            self._in_flight = None
            self.analyses += 1
            self.last_worker_seconds = message.get("seconds")
            self._finished.append(read_analysis(message["analysis"]))
        elif kind == "result":  # an answer nobody waits for any more: only its files matter
            shutil.rmtree(message["analysis"]["folder"], ignore_errors=True)
        elif kind == "error" and message.get("id") is None:  # the case or the models failed to load
            self._fail(
                f"the analysis worker could not load the case: {message.get('message')}",
                message.get("traceback", ""),
                input_error=message.get("input_error", False),
            )
        elif kind == "error" and message.get("id") == self._in_flight:
            self._in_flight = None
            self.analyses += 1
            if message.get("input_error"):
                self._finished.append(InputError(message["message"]))
            else:
                self._finished.append(
                    WorkerError(
                        f"analysis failed in the worker: {message['message']}",
                        self.log_path,
                        message.get("traceback", ""),
                    )
                )

    def _fail(self, what: str, traceback: str = "", input_error: bool = False) -> None:
        """Records the worker's failure once, as the newest outcome (the worker is ended)."""
        self._in_flight, self._pending = None, _NOTHING
        process_tree.end_process_tree(self.process, grace_seconds=2.0)
        status = self.process.returncode
        detail = process_tree.last_error_line(self.log_path)
        text = f"{what} (exit status {status}{'; ' + detail if detail and not traceback else ''})"
        if input_error:
            self.failure = WorkerError(what, None, traceback)
            self._finished.append(InputError(what))
        else:
            self.failure = WorkerError(text, self.log_path, traceback or process_tree.log_tail(self.log_path))
            self._finished.append(self.failure)

    # --- the end ----------------------------------------------------------------------------------

    def close(self) -> None:
        """Ends the worker's process tree and removes the temporary folder (idempotent)."""
        if self.process is not None and self.process.poll() is None:
            try:
                send(self.process.stdin, {"type": "close"})
                self.process.wait(2.0)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._finalizer()

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()


def _end(process: subprocess.Popen | None, temporary: Path) -> None:
    """Ends the worker (and everything it started), closes its pipes, removes the patient files."""
    try:
        if process is not None:
            process_tree.end_process_tree(process, grace_seconds=2.0)
            for pipe in (process.stdin, process.stdout):
                try:
                    if pipe is not None:
                        pipe.close()
                except OSError:
                    pass
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
