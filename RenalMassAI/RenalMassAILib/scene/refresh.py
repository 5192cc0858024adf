"""Re-analysis after the tumour centre moved, off the GUI thread.

Requests are coalesced: at most one analysis runs at a time and only the latest centre waits, so a
drag that produces many moves costs one or two analyses. The engine runs in a worker thread (torch
releases the GIL); the caller applies finished results to the scene on its own thread, because MRML
must only be changed from the thread that owns the scene (`apply_finished`, polled by a Qt timer in
Slicer, or `wait` headless).
"""

import concurrent.futures
import threading

from RenalMassAILib.pipeline import Analysis, Analyzer


_AUTOMATIC = object()


class CenterRefresher:
    def __init__(self, analyzer: Analyzer, on_result, on_error=None):
        self.analyzer = analyzer
        self.on_result = on_result  # called with the Analysis, on the caller's thread
        self.on_error = on_error  # called with the exception, on the caller's thread
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="renalmassai-refresh")
        self._lock = threading.Lock()
        self._pending = None  # the latest centre not yet started
        self._running: concurrent.futures.Future | None = None
        self._finished: list[concurrent.futures.Future] = []

    def request(self, center_lps) -> None:
        """Analyse at this centre (LPS mm), or at the automatic centre when None."""
        with self._lock:
            self._pending = _AUTOMATIC if center_lps is None else tuple(float(c) for c in center_lps)
            if self._running is None:
                self._start_locked()

    def _start_locked(self) -> None:
        center, self._pending = self._pending, None
        self._running = self._executor.submit(self.analyzer.run, None if center is _AUTOMATIC else center)
        self._running.add_done_callback(self._done)

    def _done(self, future) -> None:
        with self._lock:
            self._finished.append(future)
            self._running = None
            if self._pending is not None:
                self._start_locked()

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._running is not None or self._pending is not None

    def apply_finished(self) -> Analysis | None:
        """Hands the newest finished analysis to on_result (older ones are outdated). Call it from
        the thread that owns the scene."""
        with self._lock:
            finished, self._finished = self._finished, []
        if not finished:
            return None
        future = finished[-1]
        if future.exception() is not None:
            if self.on_error is None:
                raise future.exception()
            self.on_error(future.exception())
            return None
        self.on_result(future.result())
        return future.result()

    def wait(self, timeout: float = 60.0) -> Analysis | None:
        """Blocks until nothing is running or waiting, then applies the result (headless use)."""
        while True:
            with self._lock:
                running = self._running
            if running is None:
                break
            concurrent.futures.wait([running], timeout=timeout)
        return self.apply_finished()

    def close(self) -> None:
        self._executor.shutdown(wait=True)
