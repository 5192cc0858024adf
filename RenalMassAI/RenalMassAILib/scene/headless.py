"""The scene glue without a GUI: build the case scene on slicer-core, analyse, write screenshots.

`renalmassai analyze` and `renalmassai demo` run this, so the CLI and the Slicer module share the
same scene code (nodes, overlays, table) and the screenshots show what a user would see.
"""

import os
from pathlib import Path

# Offscreen OpenGL without a display (EGL); set before VTK creates a render window.
os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from RenalMassAILib.lesion.label_map import LabelMap  # noqa: E402
from RenalMassAILib.pipeline import Analysis, Analyzer  # noqa: E402
from RenalMassAILib.prepare import PreparedCase  # noqa: E402
from RenalMassAILib.scene.case_scene import CaseScene  # noqa: E402
from RenalMassAILib.scene.scene_app import SceneApp  # noqa: E402
from RenalMassAILib.scene.screenshots import write_screenshots  # noqa: E402


def analyze_in_scene(prepared: PreparedCase, analyzer: Analyzer, label_map: LabelMap | None,
                     screenshots_dir) -> tuple[Analysis, dict[str, str]]:
    """Analysis at the automatic centre, through the same scene code as the Slicer module."""
    app = SceneApp.create()
    case_scene = CaseScene(app.scene, prepared, analyzer, label_map)
    try:
        analysis = case_scene.analyze()
        screenshots = write_screenshots(app, case_scene, Path(screenshots_dir))
        return analysis, screenshots
    finally:
        case_scene.close()
        app.scene.Clear(True)
