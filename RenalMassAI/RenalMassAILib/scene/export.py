"""Exporting a case scene: annotated screenshots, report.json and summary.html (Slicer and CLI)."""

import json
from pathlib import Path

from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.present.report import write_report
from RenalMassAILib.present.summary_page import write_summary_page
from RenalMassAILib.scene.case_scene import CaseScene
from RenalMassAILib.scene.screenshots import write_screenshots

SCREENSHOTS = "screenshots"


def export_case(
    app,
    case_scene: CaseScene,
    out_dir,
    label_map: LabelMap | None = None,
    save_inputs: bool = False,
    seconds: float | None = None,
) -> Path:
    """Writes everything for the current analysis (at the fiducial's current position); returns report.json."""
    if case_scene.analysis is None:
        raise RuntimeError("analyze the case before exporting it")
    out = Path(out_dir)
    screenshots = write_screenshots(app, case_scene, out / SCREENSHOTS)
    path = write_report(
        case_scene.prepared,
        case_scene.analysis,
        out,
        label_map,
        save_inputs,
        seconds,
        {name: f"{SCREENSHOTS}/{file}" for name, file in screenshots.items()},
    )
    write_summary_page(json.loads(path.read_text()), screenshots, out, SCREENSHOTS)
    return path
