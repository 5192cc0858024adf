"""Starting a Python worker process and ending its whole process tree, on every OS.

Workers run `python -m RenalMassAILib.workers.<name>` with the right interpreter (inside Slicer:
PythonSlicer, a launcher that starts the real interpreter as its child, so ending the launcher alone
would leave the worker running). Their stderr goes to a log file the caller can show. Ending a
worker ends its descendants first (found through psutil before anything is stopped), then the
worker: terminate, wait, kill what is left.
"""

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

LOGS_ENV = "RENALMASSAI_LOGS"
KEEP_LOGS = 20  # per kind of worker: older logs are removed when a new worker starts
# Windows: no console window pops up for a worker started from a GUI application.
NO_WINDOW = getattr(subprocess, "CREATE_NO_WINDOW", 0)


def log_folder() -> Path:
    """RENALMASSAI_LOGS when set, else the per-user log folder (LOCALAPPDATA on Windows)."""
    if os.environ.get(LOGS_ENV):
        return Path(os.environ[LOGS_ENV])
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "RenalMassAI" / "logs"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "renalmassai" / "logs"


def new_log_path(kind: str) -> Path:
    """A fresh log file name for one worker of this kind; keeps the newest KEEP_LOGS of the kind.
    Where the log folder cannot be made (a read-only home), the system's temporary folder."""
    folder = log_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "renalmassai-logs"
        folder.mkdir(parents=True, exist_ok=True)
    old = sorted(folder.glob(f"{kind}-*.log"), key=lambda p: p.stat().st_mtime)
    for path in old[: max(0, len(old) - KEEP_LOGS + 1)]:
        path.unlink(missing_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return folder / f"{kind}-{stamp}-{os.getpid()}-{time.monotonic_ns() % 1_000_000:06d}.log"


def worker_python(explicit: str | None = None) -> str:
    """The interpreter for workers: the explicit one, inside Slicer its PythonSlicer, else this one.

    The slicer module is only looked up, never imported: the engine runs without Slicer."""
    if explicit:
        return str(explicit)
    slicer = sys.modules.get("slicer")
    app = getattr(slicer, "app", None)
    if app is not None:
        name = "PythonSlicer.exe" if sys.platform == "win32" else "PythonSlicer"
        found = shutil.which(name, path=str(Path(app.slicerHome) / "bin")) or shutil.which(name)
        if found:
            return found
    return sys.executable


def worker_environment(threads: int | None = None) -> dict:
    """This process's environment, with the library importable wherever it lives (a checkout, a
    Slicer module folder) and, when given, the CPU threads torch may use."""
    environment = dict(os.environ)
    if threads:
        environment["OMP_NUM_THREADS"] = str(threads)
    library_parent = str(Path(__file__).resolve().parents[2])
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (library_parent, environment.get("PYTHONPATH")) if p)
    environment["PYTHONUNBUFFERED"] = "1"  # tracebacks reach the log at once
    return environment


def start_worker(
    module: str,
    arguments: list[str],
    log_path: Path,
    python: str | None = None,
    threads: int | None = None,
    with_stdin: bool = False,
) -> subprocess.Popen:
    """Starts `python -m module arguments`: stdout a text pipe (JSON lines), stderr the log file,
    stdin a pipe when asked; a new process group / session, no console window on Windows."""
    command = [worker_python(python), "-m", module, *arguments]
    with open(log_path, "ab") as log:  # the child keeps its own handle
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        platform = (
            {"creationflags": NO_WINDOW | subprocess.CREATE_NEW_PROCESS_GROUP}
            if sys.platform == "win32"
            else {"start_new_session": True}
        )
        return subprocess.Popen(
            command,
            stdin=subprocess.PIPE if with_stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log,
            env=worker_environment(threads),
            text=True,
            encoding="utf-8",
            bufsize=1,
            **platform,
        )


def end_process_tree(process: subprocess.Popen, grace_seconds: float = 5.0) -> None:
    """Ends the worker and every process below it: descendants first (found before anything
    stops), terminate, wait, kill what is left. The worker itself is ended and reaped through its
    Popen, so its real exit status stays readable (`process.returncode`)."""
    descendants = _descendants(process)
    for member in descendants:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    if process.poll() is None:
        process.terminate()
    _, alive = psutil.wait_procs(descendants, timeout=grace_seconds)
    try:
        process.wait(grace_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=grace_seconds)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_seconds)


def _descendants(process: subprocess.Popen) -> list[psutil.Process]:
    """Every process below the worker, deepest first (none once the worker has ended: its
    children are then no longer its own)."""
    if process.poll() is not None:
        return []
    try:
        return psutil.Process(process.pid).children(recursive=True)[::-1]
    except psutil.NoSuchProcess:
        return []


def log_tail(log_path, lines: int = 30) -> str:
    """The last lines of a worker's log (its traceback, usually), or '' when there is none."""
    try:
        text = Path(log_path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def last_error_line(log_path) -> str:
    """The last non-empty line of the log: for a Python crash, the exception itself."""
    tail = [line for line in log_tail(log_path, 50).splitlines() if line.strip()]
    return tail[-1].strip() if tail else ""
