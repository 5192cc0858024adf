"""JSON lines over a child's pipes, read without blocking and without a reader thread.

A GUI polls `ready_messages(0)` from its timer. No thread is involved because inside Slicer a
Python thread only advances when the main thread runs Python code (PythonQt keeps the GIL while
Qt idles). POSIX pipes are polled with select; Windows pipes, which select cannot watch, with
PeekNamedPipe (the call multiprocessing uses for its pipes on Windows).
"""

import json
import os
import sys
import time

if sys.platform == "win32":
    import _winapi
    import msvcrt

WINDOWS_POLL_SECONDS = 0.005


class PipeLines:
    """Reads complete JSON lines from a child's stdout pipe; `ended` once the child closed it."""

    def __init__(self, pipe):
        self._fd = pipe.fileno()
        self._buffer = b""
        self.ended = False
        self.skipped: list[str] = []  # lines that were not JSON (a library printed something)
        if sys.platform != "win32":
            os.set_blocking(self._fd, False)

    def ready_messages(self, timeout: float = 0.0) -> list[dict]:
        """The messages complete now; waits up to `timeout` seconds for at least one (or the end)."""
        deadline = time.monotonic() + timeout
        while True:
            self._read_available(max(0.0, deadline - time.monotonic()))
            messages = self._take_lines()
            if messages or self.ended or time.monotonic() >= deadline:
                return messages

    def _read_available(self, wait: float) -> None:
        if self.ended:
            return
        chunk, self.ended = self._read_windows(wait) if sys.platform == "win32" else self._read_posix(wait)
        self._buffer += chunk

    def _read_posix(self, wait: float) -> tuple[bytes, bool]:
        """(bytes available now, whether the pipe has ended)."""
        import select

        readable, _, _ = select.select([self._fd], [], [], wait)
        chunks = []
        while readable:
            try:
                chunk = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
        return b"".join(chunks), False

    def _read_windows(self, wait: float) -> tuple[bytes, bool]:
        handle = msvcrt.get_osfhandle(self._fd)
        deadline = time.monotonic() + wait
        while True:
            try:
                available = _winapi.PeekNamedPipe(handle)[0]
            except (BrokenPipeError, OSError):
                return b"", True
            if available:
                return os.read(self._fd, available), False
            if time.monotonic() >= deadline:
                return b"", False
            time.sleep(WINDOWS_POLL_SECONDS)

    def _take_lines(self) -> list[dict]:
        *lines, self._buffer = self._buffer.split(b"\n")
        if self.ended and self._buffer:
            lines, self._buffer = [*lines, self._buffer], b""
        messages = []
        for line in lines:
            text = line.decode("utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                message = json.loads(text)
            except json.JSONDecodeError:
                self.skipped.append(text)
                continue
            if isinstance(message, dict):
                messages.append(message)
        return messages


def send(pipe, message: dict) -> None:
    """Writes one JSON line to a child's stdin; BrokenPipeError / OSError when the child has gone."""
    pipe.write(json.dumps(message) + "\n")
    pipe.flush()
