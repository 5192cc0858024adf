"""`renalmassai evaluate`: the paper's statistics for one prediction CSV -> metrics.json and plots.

Columns: case_id, label (0/1), probability; optional time and event (survival), reader_* (a
reader's binary calls), further score columns to compare (--compare), subgroup columns (--subgroups).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score, roc_curve
from statsmodels.stats.contingency_tables import mcnemar

from RenalMassAILib.cohort.delong import auc_confidence_interval, delong_paired_test
from RenalMassAILib.cohort.survival import c_index, cox, kaplan_meier
from RenalMassAILib.errors import InputError


def read_predictions(path) -> pd.DataFrame:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"predictions CSV {str(path)!r}: no such file")
    frame = pd.read_csv(path)
    missing = [c for c in ("case_id", "label", "probability") if c not in frame.columns]
    if missing:
        raise InputError(f"predictions CSV {str(path)!r}: missing column(s) {', '.join(missing)}")
    if not set(frame["label"].dropna().unique()) <= {0, 1}:
        raise InputError(f"predictions CSV {str(path)!r}: label must be 0 or 1")
    if frame["probability"].isna().any() or not frame["probability"].between(0, 1).all():
        raise InputError(f"predictions CSV {str(path)!r}: probability must lie in [0, 1] for every case")
    return frame.dropna(subset=["label"])


def evaluate(
    frame: pd.DataFrame,
    out,
    threshold: float = 0.5,
    compare: list[str] = (),
    subgroups: list[str] = (),
    covariates: list[str] = (),
) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    labels, scores = frame["label"].to_numpy(int), frame["probability"].to_numpy(float)
    auc, ci = auc_confidence_interval(labels, scores)
    youden = _youden(labels, scores)
    metrics = {
        "n": len(frame),
        "positives": int(labels.sum()),
        "auc": auc,
        "auc_ci95": list(ci),
        "at_threshold": _binary_metrics(labels, scores >= threshold) | {"threshold": threshold},
        "at_youden": _binary_metrics(labels, scores >= youden) | {"threshold": youden},
        "calibration": _calibration(labels, scores),
        "comparisons": {c: delong_paired_test(labels, scores, frame[c].to_numpy(float)) for c in compare},
        "readers": {
            c: _reader(labels, scores, frame[c].to_numpy(int)) for c in frame.columns if c.startswith("reader_")
        },
        "subgroups": {c: _subgroup_aucs(frame, c) for c in subgroups},
    }
    if {"time", "event"} <= set(frame.columns):
        metrics.update(_survival(frame, threshold, covariates, out))
    _plot_roc(labels, scores, auc, ci, frame, compare, out / "roc.png")
    _plot_calibration(metrics["calibration"], out / "calibration.png")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    return metrics


def _binary_metrics(labels: np.ndarray, calls: np.ndarray) -> dict:
    positives, negatives = labels == 1, labels == 0
    return {
        "accuracy": float((calls == labels).mean()),
        "sensitivity": float(calls[positives].mean()) if positives.any() else float("nan"),
        "specificity": float((~calls[negatives]).mean()) if negatives.any() else float("nan"),
    }


def _youden(labels, scores) -> float:
    fpr, tpr, thresholds = roc_curve(labels, scores)
    best = int(np.argmax(tpr - fpr))
    return float(min(thresholds[best], 1.0))


def _calibration(labels, scores, bins: int = 10) -> list[dict]:
    edges = np.unique(np.quantile(scores, np.linspace(0, 1, bins + 1)))
    index = np.clip(np.searchsorted(edges, scores, side="right") - 1, 0, len(edges) - 2)
    return [
        {
            "mean_probability": float(scores[index == b].mean()),
            "observed": float(labels[index == b].mean()),
            "n": int((index == b).sum()),
        }
        for b in range(len(edges) - 1)
        if (index == b).any()
    ]


def _reader(labels, scores, calls) -> dict:
    """The paper's comparison: the model at the reader's specificity (and sensitivity), McNemar."""
    reader = _binary_metrics(labels, calls.astype(bool))
    negatives, positives = scores[labels == 0], scores[labels == 1]
    at_spec = np.quantile(negatives, reader["specificity"])  # model threshold giving the reader's specificity
    at_sens = np.quantile(positives, 1 - reader["sensitivity"])
    model_calls = scores > at_spec
    table = pd.crosstab(
        pd.Categorical(model_calls[labels == 1], [False, True]),
        pd.Categorical(calls[labels == 1].astype(bool), [False, True]),
        dropna=False,
    ).to_numpy()
    return {
        "reader": reader,
        "model_sensitivity_at_reader_specificity": float(model_calls[labels == 1].mean()),
        "model_specificity_at_reader_sensitivity": float((negatives < at_sens).mean()),
        "mcnemar_p_sensitivity": float(mcnemar(table, exact=True).pvalue),
    }


def _subgroup_aucs(frame: pd.DataFrame, column: str) -> dict:
    if column not in frame.columns:
        raise InputError(f"--subgroups {column!r}: no such column in the predictions CSV")
    result = {}
    for level, part in frame.groupby(column):
        labels = part["label"].to_numpy(int)
        if labels.min() == labels.max() or min(labels.sum(), len(labels) - labels.sum()) < 2:
            result[str(level)] = {"n": len(part), "auc": None, "note": "needs two cases of each class"}
            continue
        auc, ci = auc_confidence_interval(labels, part["probability"].to_numpy(float))
        result[str(level)] = {"n": len(part), "auc": auc, "auc_ci95": list(ci)}
    return result


def _survival(frame: pd.DataFrame, threshold: float, covariates, out: Path) -> dict:
    data = frame.dropna(subset=["time", "event"]).assign(score_0_10=lambda f: 10 * f["probability"])
    groups = np.where(data["probability"] >= threshold, "predicted positive", "predicted negative")
    curves, p = kaplan_meier(data["time"], data["event"], groups)
    _plot_km(curves, p, out / "kaplan_meier.png")
    missing = [c for c in covariates if c not in data.columns]
    if missing:
        raise InputError(f"--covariates: no column(s) {', '.join(missing)} in the predictions CSV")
    result = {
        "c_index": c_index(data["time"], data["event"], data["probability"]),
        "logrank_p": p,
        "cox_univariate": cox(data, "time", "event", ["score_0_10"]),
    }
    if covariates:
        result["cox_multivariate"] = cox(data, "time", "event", ["score_0_10", *covariates])
    return result


def _axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 5), dpi=100)
    return plt, figure, axes


def _plot_roc(labels, scores, auc, ci, frame, compare, path):
    plt, figure, axes = _axes()
    fpr, tpr, _ = roc_curve(labels, scores)
    axes.plot(fpr, tpr, label=f"model AUC {auc:.3f} ({ci[0]:.3f}-{ci[1]:.3f})")
    for column in compare:
        other = frame[column].to_numpy(float)
        f, t, _ = roc_curve(labels, other)
        axes.plot(f, t, label=f"{column} AUC {roc_auc_score(labels, other):.3f}")
    axes.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    axes.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC")
    axes.legend(loc="lower right", fontsize=8)
    figure.savefig(path)
    plt.close(figure)


def _plot_calibration(bins, path):
    plt, figure, axes = _axes()
    axes.plot([b["mean_probability"] for b in bins], [b["observed"] for b in bins], "o-")
    axes.plot([0, 1], [0, 1], "k:", linewidth=0.8)
    axes.set(xlabel="predicted probability", ylabel="observed share", title="Calibration")
    figure.savefig(path)
    plt.close(figure)


def _plot_km(curves, p, path):
    plt, figure, axes = _axes()
    for group, (times, survival) in curves.items():
        axes.step(times, survival, where="post", label=str(group))
    axes.set(xlabel="time", ylabel="survival", title=f"Kaplan-Meier (log-rank p = {p:.3g})", ylim=(0, 1.02))
    axes.legend(fontsize=8)
    figure.savefig(path)
    plt.close(figure)
