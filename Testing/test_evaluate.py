"""`renalmassai evaluate` on a synthetic cohort with known structure."""

import json

import numpy as np
import pandas as pd
import pytest

from RenalMassAILib.cli import main


@pytest.fixture
def predictions(tmp_path):
    rng = np.random.default_rng(4)
    n = 300
    label = (rng.random(n) < 0.4).astype(int)
    probability = np.clip(0.3 + 0.3 * label + rng.normal(0, 0.18, n), 0, 1)
    nephrometry = np.clip(0.4 + 0.1 * label + rng.normal(0, 0.2, n), 0, 1)
    time = rng.exponential(1 / (0.05 + 0.3 * probability))
    frame = pd.DataFrame(
        {
            "case_id": [f"c{i}" for i in range(n)],
            "label": label,
            "probability": probability,
            "renal_nomogram": nephrometry,
            "time": np.minimum(time, 10.0),
            "event": (time < 10.0).astype(int),
            "reader_1": ((label == 1) & (rng.random(n) < 0.7) | (label == 0) & (rng.random(n) < 0.25)).astype(int),
            "size_group": np.where(rng.random(n) < 0.5, "<=4 cm", ">4 cm"),
            "age": rng.normal(60, 10, n),
        }
    )
    path = tmp_path / "predictions.csv"
    frame.to_csv(path, index=False)
    return path


def test_evaluate_writes_the_papers_statistics(tmp_path, predictions, capsys):
    out = tmp_path / "eval"
    assert (
        main(
            [
                "evaluate",
                "--predictions",
                str(predictions),
                "--out",
                str(out),
                "--compare",
                "renal_nomogram",
                "--subgroups",
                "size_group",
                "--covariates",
                "age",
            ]
        )
        == 0
    )
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.8 < metrics["auc"] < 0.95 and metrics["auc_ci95"][0] < metrics["auc"] < metrics["auc_ci95"][1]
    assert metrics["comparisons"]["renal_nomogram"]["p"] < 0.001
    assert metrics["c_index"] > 0.55 and metrics["logrank_p"] < 0.05
    assert metrics["cox_univariate"]["covariates"]["score_0_10"]["hr"] > 1
    assert "age" in metrics["cox_multivariate"]["covariates"]
    reader = metrics["readers"]["reader_1"]
    assert reader["model_sensitivity_at_reader_specificity"] > reader["reader"]["sensitivity"]
    assert set(metrics["subgroups"]["size_group"]) == {"<=4 cm", ">4 cm"}
    assert 0 < metrics["at_youden"]["threshold"] < 1
    assert sum(b["n"] for b in metrics["calibration"]) == 300
    for plot in ("roc.png", "calibration.png", "kaplan_meier.png"):
        assert (out / plot).stat().st_size > 5000


def test_bad_predictions_are_refused(tmp_path, capsys):
    (tmp_path / "p.csv").write_text("case_id,label,probability\nc1,1,1.7\nc2,0,0.2\n")
    assert main(["evaluate", "--predictions", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "probability must lie in [0, 1]" in capsys.readouterr().err
