"""The segmentation worker: a separate process that reads a request, segments, and reports JSON lines.

    python -m RenalMassAILib.workers.segmentation_worker REQUEST.json
Each stdout line is one JSON object: {"stage", "step", "steps", "message"}; the last is stage
"done" (with the output path and volumes) or "error" (with the message; for an unexpected error
also the traceback, which goes to stderr, the job's log, too). Started and cancelled by
segmentation_job.SegmentationJob.
"""

import json
import sys
import traceback
from pathlib import Path


def emit(stage: str, step: int, steps: int, message: str, **extra) -> None:
    print(json.dumps({"stage": stage, "step": step, "steps": steps, "message": message, **extra}), flush=True)


def run(request_path: str) -> int:
    from RenalMassAILib.case.loading import load_case
    from RenalMassAILib.case.phase import Phase
    from RenalMassAILib.errors import InputError
    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment

    try:
        request = json.loads(Path(request_path).read_text())
        emit("read", 0, 1, "reading images")
        case = load_case({Phase(p): path for p, path in request["images"].items()}, request.get("case_id", "case"))
        model = open_segmentation_model(request["model"], case.phases)
        options = SegmentationOptions(**request.get("options", {}))
        result = segment(case, model, request.get("center_lps"), options, progress=emit)
        import SimpleITK as sitk

        sitk.WriteImage(result.label_map.image, request["output"], useCompression=True)
        emit(
            "done",
            1,
            1,
            "written",
            output=request["output"],
            volumes_ml=result.volumes_ml,
            forward_passes=result.forward_passes,
            seconds=round(result.seconds, 2),
            growths=result.growths,
            boxes=[{"low_ijk": list(box.low), "high_ijk": list(box.high)} for box in result.boxes],
            alignment=result.alignment,
            whole_volume_fallback=result.whole_volume_fallback,
            backend=result.backend,
        )
        return 0
    except InputError as error:
        emit("error", 0, 0, str(error))
        return 2
    except Exception as error:  # reported to the parent process, which shows it
        print(traceback.format_exc(), file=sys.stderr, flush=True)
        emit("error", 0, 0, f"{type(error).__name__}: {error}", traceback=traceback.format_exc())
        return 1


if __name__ == "__main__":
    sys.exit(run(sys.argv[1]))
