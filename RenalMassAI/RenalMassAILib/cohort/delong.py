"""AUC with its DeLong variance, confidence interval and paired test (fast DeLong, Sun & Xu 2014).

Not in scikit-learn, scipy, statsmodels or lifelines. The structural components come from midranks,
so K score columns on the same cases cost one sort each.
"""

import numpy as np
from scipy import stats


def _midranks(values: np.ndarray) -> np.ndarray:
    return stats.rankdata(values, method="average")


def delong_covariance(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    """AUCs (K,) and their covariance (K, K) for scores (K, cases) against binary labels."""
    labels = np.asarray(labels).astype(bool)
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    positives, negatives = scores[:, labels], scores[:, ~labels]
    m, n = positives.shape[1], negatives.shape[1]
    if m < 2 or n < 2:
        raise ValueError(f"DeLong needs at least two cases of each class (have {m} positive, {n} negative)")
    aucs, v01, v10 = [], [], []
    for x, y in zip(positives, negatives):
        tx, ty, tz = _midranks(x), _midranks(y), _midranks(np.concatenate([x, y]))
        aucs.append((tz[:m].sum() - m * (m + 1) / 2) / (m * n))
        v01.append((tz[:m] - tx) / n)  # per positive: share of negatives it outranks
        v10.append(1.0 - (tz[m:] - ty) / m)  # per negative: share of positives that outrank it
    covariance = np.atleast_2d(np.cov(np.array(v01))) / m + np.atleast_2d(np.cov(np.array(v10))) / n
    return np.array(aucs), covariance


def auc_confidence_interval(labels, scores, level: float = 0.95) -> tuple[float, tuple[float, float]]:
    aucs, covariance = delong_covariance(labels, scores)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(covariance[0, 0])
    return float(aucs[0]), (float(max(0.0, aucs[0] - half)), float(min(1.0, aucs[0] + half)))


def delong_paired_test(labels, scores_a, scores_b) -> dict:
    """Two scores on the same cases: their AUCs, z and the two-sided p-value of the difference."""
    aucs, covariance = delong_covariance(labels, np.vstack([scores_a, scores_b]))
    variance = covariance[0, 0] + covariance[1, 1] - 2 * covariance[0, 1]
    z = float((aucs[0] - aucs[1]) / np.sqrt(variance)) if variance > 0 else 0.0
    return {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "z": z, "p": float(2 * stats.norm.sf(abs(z)))}
