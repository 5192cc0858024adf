"""segmentation.json's content (also report.json's `segmentation`): which model, how, what it found.

`model` says what drew the label map (id, version, demo); a demo model makes every output of the case
DEMO (pipeline.Analysis.demo). `warnings` holds the demo model's warning when it read an image that is
not the bundled phantom (lesion.demo_input_check).
"""

from RenalMassAILib.case.alignment import PhaseAlignment
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.lesion.nnunet_model import SegmentationModel

WORKER_FIELDS = ("volumes_ml", "forward_passes", "seconds", "growths", "boxes", "backend")


def segmentation_record(
    model: SegmentationModel,
    reference: Phase,
    reference_size,
    options: dict,
    alignments: dict[Phase, PhaseAlignment],
    worker_result: dict,
    warning: str | None,
) -> dict:
    """worker_result: the segmentation worker's final ('done') message; reference_size: the reference grid's."""
    whole = [{"low_ijk": [0, 0, 0], "high_ijk": list(reference_size)}]
    # The worker says whether it fell back; a result without that field is judged from the options asked.
    fallback = worker_result.get("whole_volume_fallback")
    if fallback is None:
        fallback = bool(options.get("fast")) and worker_result.get("boxes") == whole
    return {
        "model": model.identity.summary() | {"folder": str(model.folder)},
        "phases_read": [p.value for p in dict.fromkeys(model.channel_phases(reference))],
        "options": options,
        # How each phase the model read (other than the reference) was brought onto the reference grid.
        "alignment": {phase.value: alignment.quality for phase, alignment in alignments.items()},
        **{key: worker_result[key] for key in WORKER_FIELDS if key in worker_result},
        # The fast path found no kidney to put a box around and segmented the whole volume instead.
        "whole_volume_fallback": bool(fallback),
        "warnings": [warning] if warning else [],
    }


def run_summary(record: dict) -> str:
    """One line on what drew a label map: the model (DEMO when a demo model did), what ran its network
    (backend and precision: int8 when quantised) and the passes and seconds it took."""
    model, backend = record["model"], record.get("backend") or {}
    # a record written by hand or by an older version may lack a field: say what there is
    name = " ".join(str(model[key]) for key in ("id", "version") if model.get(key)) or "unnamed"
    parts = [f"model {name}{' (DEMO)' if model.get('demo') else ''}"]
    if backend:
        parts.append(f"network in {backend.get('backend', '?')} {backend.get('precision', '?')}")
    if "forward_passes" in record:
        parts.append(f"{record['forward_passes']} forward passes in {record['seconds']} s")
    return "; ".join(parts)


RECORD_NAME = "segmentation.json"


def record_beside(label_path) -> dict | None:
    """The record `renalmassai segment` wrote beside a label map (segmentation.json in the same folder),
    so that an analysis of that label map still knows its model (a demo model makes the result DEMO);
    None when there is none. A record that is not a JSON object with a `model` is refused."""
    import json
    from pathlib import Path

    from RenalMassAILib.errors import InputError

    path = Path(label_path).parent / RECORD_NAME
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise InputError(
            f"segmentation record {str(path)!r} is not readable JSON ({error}): fix or remove it"
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("model"), dict):
        raise InputError(f"segmentation record {str(path)!r} has no 'model' object: fix or remove it")
    return record
