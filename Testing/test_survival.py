"""Survival statistics against known answers: Harrell's C by brute force, Cox on the Rossi
recidivism data (coefficients published by Fox, 2002, and reproduced by every Cox package)."""

import itertools

import numpy as np
import pytest
from lifelines.datasets import load_rossi

from RenalMassAILib.cohort.survival import c_index, cox, kaplan_meier


def _harrell(time, event, risk):
    concordant = ties = comparable = 0
    for i, j in itertools.permutations(range(len(time)), 2):
        if event[i] and time[i] < time[j]:  # i failed first: a usable pair
            comparable += 1
            concordant += risk[i] > risk[j]
            ties += risk[i] == risk[j]
    return (concordant + 0.5 * ties) / comparable


def test_c_index_reads_a_higher_score_as_higher_risk():
    rng = np.random.default_rng(0)
    risk = rng.random(60)
    time = rng.exponential(1 / (0.2 + risk))
    event = rng.random(60) < 0.7
    assert c_index(time, event, risk) == pytest.approx(_harrell(time, event, risk), abs=1e-9)
    assert c_index(time, event, risk) > 0.6
    assert c_index(time, event, -risk) == pytest.approx(1 - c_index(time, event, risk), abs=1e-9)


def test_cox_reproduces_the_published_rossi_coefficients():
    rossi = load_rossi()
    result = cox(rossi, "week", "arrest", ["fin", "age", "race", "wexp", "mar", "paro", "prio"])
    published = {
        "fin": -0.379,
        "age": -0.057,
        "race": 0.314,
        "wexp": -0.150,
        "mar": -0.434,
        "paro": -0.085,
        "prio": 0.091,
    }
    for name, coefficient in published.items():
        assert result["covariates"][name]["coef"] == pytest.approx(coefficient, abs=0.001)
    assert result["covariates"]["prio"]["hr"] == pytest.approx(np.exp(0.0915), abs=0.001)
    assert result["covariates"]["prio"]["p"] < 0.01


def test_kaplan_meier_separates_groups_with_different_hazards():
    rng = np.random.default_rng(1)
    groups = np.repeat(["indolent", "aggressive"], 80)
    time = np.where(groups == "aggressive", rng.exponential(2, 160), rng.exponential(10, 160))
    event = np.ones(160, bool)
    curves, p = kaplan_meier(time, event, groups)
    assert set(curves) == {"indolent", "aggressive"} and p < 1e-6
    _t_aggr, s_aggr = curves["aggressive"]
    assert np.all(np.diff(s_aggr) <= 0) and s_aggr[0] == 1.0
