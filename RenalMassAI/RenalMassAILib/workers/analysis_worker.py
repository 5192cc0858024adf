"""The analysis worker: a persistent process that answers "analyze at this center" requests.

    python -m RenalMassAILib.workers.analysis_worker CASE_FOLDER
It loads the case and the models once from CASE_FOLDER (written by `AnalysisClient`), says
{"type": "ready", ...} on stdout, then reads one JSON request per stdin line:
    {"type": "analyze", "id": N, "center_lps": [x, y, z] | null}   null: the automatic center
    {"type": "close"}                                               (or the end of stdin)
and answers each analysis with {"type": "result", "id": N, "seconds": s, "analysis": {...}} (arrays
as .npy files under CASE_FOLDER/results/N, see analysis_result) or {"type": "error", "id": N,
"message": ..., "input_error": bool, "traceback": ...}. A failed load is {"type": "error", "id":
null, ...} and the process ends. Tracebacks also go to stderr, which the client sends to a log.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

STARTED = time.perf_counter()


def emit(message: dict) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def error_message(request_id, error: BaseException) -> dict:
    from RenalMassAILib.errors import InputError

    text = traceback.format_exc()
    print(text, file=sys.stderr, flush=True)
    input_error = isinstance(error, InputError)
    return {
        "type": "error",
        "id": request_id,
        "input_error": input_error,
        "message": str(error) if input_error else f"{type(error).__name__}: {error}",
        "traceback": text,
    }


def load(folder: Path):
    import torch

    import RenalMassAILib.pipeline  # noqa: F401  (torch, torchvision, grad-cam: most of the start-up)
    from RenalMassAILib.workers.analysis_case import read_analyzer

    imported = time.perf_counter()
    analyzer = read_analyzer(folder)
    emit(
        {
            "type": "ready",
            "import_seconds": round(imported - STARTED, 3),
            "load_seconds": round(time.perf_counter() - imported, 3),
            "threads": torch.get_num_threads(),
            "models": sorted({f"{p.card.id} {p.card.version}" for p, _, _ in analyzer.runs}),
        }
    )
    return analyzer


def answer(analyzer, request: dict, folder: Path) -> dict:
    from RenalMassAILib.workers.analysis_result import write_analysis

    request_id = request.get("id")
    try:
        start = time.perf_counter()
        analysis = analyzer.run(request.get("center_lps"))
        description = write_analysis(analysis, folder / "results" / str(request_id))
        return {
            "type": "result",
            "id": request_id,
            "seconds": round(time.perf_counter() - start, 4),
            "analysis": description,
        }
    except Exception as error:  # reported to the client, which shows it; the worker carries on
        return error_message(request_id, error)


def serve(folder: Path) -> int:
    try:
        analyzer = load(folder)
    except Exception as error:
        emit(error_message(None, error))
        return 2
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        if request.get("type") == "close":
            break
        if request.get("type") == "analyze":
            emit(answer(analyzer, request, folder))
        else:
            emit(
                {
                    "type": "error",
                    "id": request.get("id"),
                    "input_error": False,
                    "traceback": "",
                    "message": f"analysis worker: unknown request type {request.get('type')!r}",
                }
            )
    return 0


if __name__ == "__main__":
    status = serve(Path(sys.argv[1]))
    sys.stdout.flush()
    sys.stderr.flush()
    # Everything is written and closed: skip the interpreter's teardown of torch (seconds), so a
    # client's close() returns at once.
    os._exit(status)
