"""Survival statistics of a score, through lifelines: Harrell's C-index (higher score = higher
risk), Kaplan-Meier curves with the log-rank test, univariate and multivariate Cox models."""

import numpy as np
import pandas as pd
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test
from lifelines.utils import concordance_index


def c_index(time, event, risk) -> float:
    """lifelines reads a higher score as longer survival: the risk is negated."""
    return float(concordance_index(np.asarray(time, float), -np.asarray(risk, float), np.asarray(event, bool)))


def cox(frame: pd.DataFrame, duration: str, event: str, covariates: list[str]) -> dict:
    """Hazard ratio, 95 % CI and p per covariate, and the model's concordance."""
    model = CoxPHFitter().fit(frame[[duration, event, *covariates]], duration_col=duration, event_col=event)
    summary = model.summary
    return {
        "covariates": {
            name: {
                "coef": float(summary.loc[name, "coef"]),
                "hr": float(summary.loc[name, "exp(coef)"]),
                "hr_ci95": [
                    float(summary.loc[name, "exp(coef) lower 95%"]),
                    float(summary.loc[name, "exp(coef) upper 95%"]),
                ],
                "p": float(summary.loc[name, "p"]),
            }
            for name in covariates
        },
        "concordance": float(model.concordance_index_),
        "n": len(frame),
    }


def kaplan_meier(time, event, groups) -> tuple[dict, float]:
    """Survival curve per group ({group: (times, survival)}) and the log-rank p-value."""
    time, event, groups = np.asarray(time, float), np.asarray(event, bool), np.asarray(groups)
    curves = {}
    for group in sorted(set(groups.tolist())):
        fitter = KaplanMeierFitter().fit(time[groups == group], event[groups == group])
        curves[group] = (fitter.survival_function_.index.to_numpy(), fitter.survival_function_.iloc[:, 0].to_numpy())
    p = float(multivariate_logrank_test(time, groups, event).p_value) if len(curves) > 1 else float("nan")
    return curves, p
