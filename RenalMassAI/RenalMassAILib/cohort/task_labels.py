"""The paper's three pathology classes and the two binary tasks derived from them."""

import math

CLASSES = ("benign", "indolent", "aggressive", "indeterminate")
# The authors' code numbers them 0, 1, 2 and 2.5 (malignant, aggressiveness unknown).
_AUTHORS_CODES = {"0": "benign", "1": "indolent", "2": "aggressive", "2.5": "indeterminate"}


def parse_class(text: str) -> str:
    key = str(text).strip().lower()
    key = _AUTHORS_CODES.get(key.rstrip("0").rstrip(".") if "." in key else key, key)
    if key not in CLASSES:
        raise ValueError(f"pathology class {text!r}: use one of {', '.join(CLASSES)} (or 0, 1, 2, 2.5)")
    return key


def task_label(pathology_class: str, task: str) -> float:
    """1 / 0, or NaN when the case does not count for the task (indeterminate aggressiveness)."""
    if pathology_class not in CLASSES:  # e.g. 'excluded' from the labels command: not a case for any task
        raise ValueError(f"pathology class {pathology_class!r} counts for no task; use one of {', '.join(CLASSES)}")
    if task == "malignancy":
        return float(pathology_class != "benign")
    if task == "aggressiveness":
        if pathology_class == "benign":  # the paper pools benign with indolent: both are 'indolent'
            return 0.0
        return math.nan if pathology_class == "indeterminate" else float(pathology_class == "aggressive")
    raise ValueError(f"unknown task {task!r}")
