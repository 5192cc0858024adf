"""The scene glue without a GUI: build the case scene on slicer-core, analyze, export.

`renalmassai analyze` and `renalmassai demo` run this, so the CLI and the Slicer module share the
same scene code (nodes, overlays, table, screenshots) and the screenshots show what a user would see.
"""

import os
import time
from pathlib import Path

# Offscreen OpenGL without a display (EGL); set before VTK creates a render window.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from RenalMassAILib.lesion.label_map import LabelMap
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.prepare import PreparedCase
from RenalMassAILib.scene.case_scene import CaseScene
from RenalMassAILib.scene.export import export_case
from RenalMassAILib.scene.scene_app import SceneApp


def analyze_and_export(
    prepared: PreparedCase,
    analyzer: Analyzer,
    label_map: LabelMap | None,
    out_dir,
    save_inputs: bool = False,
    started: float | None = None,
) -> Path:
    """Analysis at the automatic center through the scene; returns the path of report.json. One shot,
    no GUI: the analysis runs in this process (no worker to start)."""
    app = SceneApp.create()
    case_scene = CaseScene(app.scene, prepared, analyzer, label_map, live_refresh=False)
    try:
        case_scene.analyze()
        seconds = time.perf_counter() - started if started is not None else None
        return export_case(app, case_scene, Path(out_dir), label_map, save_inputs, seconds)
    finally:
        case_scene.close()
        app.scene.Clear(True)
