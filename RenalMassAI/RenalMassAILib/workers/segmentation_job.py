"""Running segmentation in a worker process: structured progress, clean cancellation, no leftovers.

The job owns a temporary folder for whatever patient images must be written for the worker (volumes
that exist only in memory, e.g. in a Slicer scene) and removes it in every case, including
cancellation and failure. Cancelling ends the worker's whole process tree (psutil, on every OS).
The worker's stderr goes to a log file (`log_path`), named in the error when the worker fails.
"""

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import SimpleITK as sitk

from RenalMassAILib.errors import InputError
from RenalMassAILib.workers import process_tree
from RenalMassAILib.workers.pipe_lines import PipeLines
from RenalMassAILib.workers.worker_error import WorkerError

MODULE = "RenalMassAILib.workers.segmentation_worker"


class SegmentationJob:
    def __init__(
        self,
        images: dict[str, object],
        model_folder,
        output,
        center_lps=None,
        options: dict | None = None,
        threads: int | None = None,
        python: str | None = None,
    ):
        """images: phase letter -> file path, or a SimpleITK image (written to the temporary folder).
        python: the interpreter for the worker (default: inside Slicer PythonSlicer, else this one)."""
        self.options = dict(options or {})  # what the worker was asked (the segmentation record keeps it)
        self.temporary = Path(tempfile.mkdtemp(prefix="renalmassai-seg-"))
        try:
            paths = {}
            for phase, image in images.items():
                if isinstance(image, sitk.Image):
                    paths[phase] = str(self.temporary / f"{phase}.nii.gz")
                    sitk.WriteImage(image, paths[phase])
                else:
                    paths[phase] = str(image)
            request = {
                "images": paths,
                "model": str(model_folder),
                "output": str(output),
                "center_lps": list(center_lps) if center_lps is not None else None,
                "options": self.options,
            }
            (self.temporary / "request.json").write_text(json.dumps(request))
        except BaseException:
            self.cleanup()
            raise
        try:
            self.log_path = process_tree.new_log_path("segmentation-worker")
            self.process = process_tree.start_worker(
                MODULE, [str(self.temporary / "request.json")], self.log_path, python, threads
            )
        except BaseException:
            self.cleanup()
            raise
        self.result: dict | None = None
        self._lines: PipeLines | None = None

    def progress(self) -> Iterator[dict]:
        """Yields the worker's progress messages until it ends (blocking: for the CLI and scripts);
        raises InputError on its input error, WorkerError (with the log path) when it failed
        otherwise or ended without a result."""
        try:
            for line in self.process.stdout:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a library printed something: not ours
                yield self._checked(message)
            self.process.wait()
            if self.result is None:
                raise self._ended_without_result()
        finally:
            self.cleanup()

    def watch(self) -> None:
        """Switches to polling: `messages()` then reads the worker's output without blocking and
        without a thread (inside Slicer a Python thread only advances while Python code runs)."""
        self._lines = PipeLines(self.process.stdout)

    def messages(self) -> list[dict]:
        """The progress messages that arrived since the last call (after `watch()`); never blocks.
        The last one is stage "done" (handed on once the worker has ended and the temporary files
        are gone) or "error" (`message` one line naming the log; `traceback`, `log_path`)."""
        if self._lines is None:
            return []
        found = []
        try:
            for message in self._lines.ready_messages(0.0):
                if self._checked(message).get("stage") != "done":
                    found.append(message)
            if self._lines.ended:
                self.process.wait()
                self.cleanup()
                if self.result is None:
                    raise self._ended_without_result()
                found.append(self.result)
        except (InputError, WorkerError) as error:
            process_tree.end_process_tree(self.process, grace_seconds=2.0)
            self.cleanup()
            log_path = getattr(error, "log_path", None)
            found.append(
                {
                    "stage": "error",
                    "message": str(error),
                    "traceback": getattr(error, "traceback", ""),
                    "log_path": str(log_path) if log_path else None,
                }
            )
        return found

    def _checked(self, message: dict) -> dict:
        """The message, after recording the worker's result; the worker's error is raised."""
        if message.get("stage") == "error" and message.get("traceback"):
            raise WorkerError(
                f"segmentation failed in the worker: {message['message']}", self.log_path, message["traceback"]
            )
        if message.get("stage") == "error":
            raise InputError(message["message"])
        if message.get("stage") == "done":
            self.result = message
        return message

    def _ended_without_result(self) -> WorkerError:
        detail = process_tree.last_error_line(self.log_path)
        return WorkerError(
            f"the segmentation worker ended without a result (exit status {self.process.returncode}"
            f"{'; ' + detail if detail else ''})",
            self.log_path,
            process_tree.log_tail(self.log_path),
        )

    def cancel(self, grace_seconds: float = 5.0) -> None:
        """Ends the worker and every process it started; removes the temporary files."""
        try:
            process_tree.end_process_tree(self.process, grace_seconds)
        finally:
            self.cleanup()

    def cleanup(self) -> None:
        self._lines = None  # nothing more to read once the pipe is closed
        if self.process_stdout_open():
            self.process.stdout.close()
        shutil.rmtree(self.temporary, ignore_errors=True)

    def process_stdout_open(self) -> bool:
        process = getattr(self, "process", None)
        return process is not None and process.stdout is not None and not process.stdout.closed
