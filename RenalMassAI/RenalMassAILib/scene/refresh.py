"""Re-analysis after the tumor center moved: through the analysis worker process.

Torch never runs in the GUI process (inside Slicer a Python thread would only advance while the
main thread runs Python code), so `CenterRefresher` sends center moves to the persistent analysis
worker (`workers.analysis_client`): at most one analysis runs at a time and only the latest center
waits. There is no thread and no lock: the caller's thread drives everything through
`apply_finished` (polled by a Qt timer in Slicer, never blocking) or `wait` (headless), and applies
results to the scene on that thread, because MRML must only be changed from the thread that owns
the scene. `InProcessRefresher` has the same methods and analyses on the caller's thread when
asked: for one-shot headless use (`renalmassai analyze`), where no GUI waits.
"""

from RenalMassAILib.pipeline import Analysis, Analyzer
from RenalMassAILib.workers.analysis_client import AnalysisClient


class CenterRefresher:
    def __init__(self, analyzer: Analyzer, on_result, on_error=None, python: str | None = None):
        """Starts the worker at once (its models load while the caller goes on). on_result is called
        with the Analysis and on_error with the exception, both on the caller's thread; without
        on_error the exception is raised by apply_finished / wait."""
        self.analyzer = analyzer
        self.on_result = on_result
        self.on_error = on_error
        self.client = AnalysisClient(analyzer, python)

    def request(self, center_lps) -> None:
        """Analyze at this center (LPS mm), or at the automatic center when None. Never blocks."""
        self.client.request(None if center_lps is None else tuple(float(c) for c in center_lps))

    @property
    def busy(self) -> bool:
        """Whether an analysis is running or waiting. Looks at the worker's answers first (without
        blocking), so a loop that only checks `busy` sees the work end; the results wait for
        apply_finished."""
        self.client.poll(0.0)
        return self.client.busy

    def apply_finished(self) -> Analysis | None:
        """Hands the newest finished analysis to on_result (older ones are outdated) and returns it;
        an error goes to on_error instead (returns None). Never blocks."""
        self.client.poll(0.0)
        return apply_newest(self.client.take_finished(), self.on_result, self.on_error)

    def wait(self, timeout: float = 60.0) -> Analysis | None:
        """Blocks until nothing is running or waiting, then applies the newest result (headless use).
        Raises TimeoutError after `timeout` seconds when the worker has not answered; the request
        carries on and a later apply_finished / wait applies its result."""
        self.client.wait_idle(timeout)
        return apply_newest(self.client.take_finished(), self.on_result, self.on_error)

    def close(self) -> None:
        """Ends the worker's process tree and removes its temporary patient files."""
        self.client.close()


class InProcessRefresher:
    """CenterRefresher's methods, analyzing on the caller's thread at each request (no GUI waits)."""

    def __init__(self, analyzer: Analyzer, on_result, on_error=None):
        self.analyzer = analyzer
        self.on_result = on_result
        self.on_error = on_error
        self._finished: list = []

    def request(self, center_lps) -> None:
        try:
            self._finished.append(
                self.analyzer.run(None if center_lps is None else tuple(float(c) for c in center_lps))
            )
        except Exception as error:  # handed over by apply_finished, as the worker's errors are
            self._finished.append(error)

    @property
    def busy(self) -> bool:
        return False

    def apply_finished(self) -> Analysis | None:
        finished, self._finished = self._finished, []
        return apply_newest(finished, self.on_result, self.on_error)

    def wait(self, timeout: float = 60.0) -> Analysis | None:
        return self.apply_finished()

    def close(self) -> None:
        self._finished = []


def apply_newest(finished: list, on_result, on_error) -> Analysis | None:
    """The newest outcome to on_result (an Analysis, returned) or on_error (an exception; raised
    when there is no on_error). Older outcomes are outdated by the newer center."""
    if not finished:
        return None
    newest = finished[-1]
    if isinstance(newest, Exception):
        if on_error is None:
            raise newest
        on_error(newest)
        return None
    on_result(newest)
    return newest
