"""The error a front end shows when a worker process fails: one line, with the log to open."""


class WorkerError(RuntimeError):
    """A worker process crashed, ended early or reported an unexpected error.

    The message is one line naming the worker, what happened and the log file of its stderr;
    `traceback` holds the worker's traceback (from its message or the end of its log) for a
    details view.
    """

    def __init__(self, message: str, log_path=None, traceback: str = ""):
        where = f"; its log: {log_path}" if log_path else ""
        super().__init__(f"{message}{where}")
        self.log_path = log_path
        self.traceback = traceback
