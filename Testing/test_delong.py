"""Fast DeLong against scikit-learn's AUC and against a bootstrap."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from RenalMassAILib.cohort.delong import auc_confidence_interval, delong_covariance, delong_paired_test


def _data(seed=0, n=400, shift=1.0):
    rng = np.random.default_rng(seed)
    labels = rng.random(n) < 0.4
    score = rng.normal(size=n) + shift * labels
    other = 0.6 * score + rng.normal(size=n)  # correlated, weaker
    return labels, np.round(score, 1), other  # rounding makes ties, which midranks must handle


def test_auc_matches_scikit_learn_with_ties():
    labels, score, other = _data()
    aucs, _ = delong_covariance(labels, np.vstack([score, other]))
    assert aucs[0] == pytest.approx(roc_auc_score(labels, score), abs=1e-12)
    assert aucs[1] == pytest.approx(roc_auc_score(labels, other), abs=1e-12)


def test_confidence_interval_agrees_with_a_bootstrap():
    labels, score, _ = _data(seed=1)
    auc, (low, high) = auc_confidence_interval(labels, score)
    rng = np.random.default_rng(2)
    boot = []
    for _ in range(2000):
        index = rng.integers(0, len(labels), len(labels))
        if labels[index].all() or not labels[index].any():
            continue
        boot.append(roc_auc_score(labels[index], score[index]))
    boot = np.array(boot)
    _, covariance = delong_covariance(labels, score)
    assert np.sqrt(covariance[0, 0]) == pytest.approx(boot.std(), rel=0.12)
    assert low == pytest.approx(np.percentile(boot, 2.5), abs=0.015)
    assert high == pytest.approx(np.percentile(boot, 97.5), abs=0.015)
    assert low < auc < high


def test_paired_test_separates_a_strong_from_a_weak_score_and_not_a_score_from_itself():
    labels, score, other = _data(seed=3)
    different = delong_paired_test(labels, score, other)
    assert different["auc_a"] > different["auc_b"] and different["p"] < 0.001
    same = delong_paired_test(labels, score, score)
    assert same["p"] == pytest.approx(1.0)


def test_too_few_cases_is_an_error():
    with pytest.raises(ValueError, match="at least two cases of each class"):
        delong_covariance([1, 0, 0], [0.9, 0.1, 0.2])
