"""The main job: `renalmassai demo` on the bundled case with the bundled models."""

import json

import numpy as np

from RenalMassAILib.cli import main
from RenalMassAILib.present.report import DEMO_BANNER
from RenalMassAILib.resources import demo_case_dir


def test_demo_runs_the_whole_pipeline(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    assert DEMO_BANNER in capsys.readouterr().out
    report = json.loads((tmp_path / "report.json").read_text())
    truth = json.loads((demo_case_dir() / "case.json").read_text())
    assert report["demo"] is True
    assert set(report["predictions"]) == {"malignancy", "aggressiveness"}
    assert report["lesion"]["volume_ml"] > 5  # segmented by the demo nnU-Net model, not read from disk
    assert np.linalg.norm(np.subtract(report["lesion"]["center_lps"], truth["lesion_center_lps"])) < 8.0
    assert all(report["alignment"][p]["method"] == "rigid" for p in ("N", "V"))
    assert (tmp_path / "segmentation.nii.gz").exists() and (tmp_path / "gradcam_lesion-field.png").exists()
    # the bundled case is a grade-3 ccRCC with necrosis: malignant and aggressive, and the demo model says so
    assert truth["pathology"] == "aggressive"
    assert report["predictions"]["malignancy"]["probability"] > 0.5
    assert report["predictions"]["aggressiveness"]["probability"] > 0.5
