"""The "RENAL nomogram (refit)": a logistic model on the R.E.N.A.L. components, fitted on the user's
training cohort. Kutikov et al. (Eur Urol 2011) did not publish their coefficients, so the model is
refitted with the same kind of covariates (the components; sex and age are not in our manifests).
Stored as plain JSON (coefficients), applied with numpy: nothing is unpickled."""

import json
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

NAME = "RENAL nomogram (refit)"
# Points of R, E, N, L and the anterior / posterior descriptor as indicators ("x" is the baseline).
FEATURES = ("R_points", "E_points", "N_points", "L_points", "A_anterior", "A_posterior")


def nomogram_features(nephrometry: dict) -> list[float]:
    return [
        float(nephrometry["R_points"]),
        float(nephrometry["E_points"]),
        float(nephrometry["N_points"]),
        float(nephrometry["L_points"]),
        float(nephrometry["A"] == "a"),
        float(nephrometry["A"] == "p"),
    ]


def fit_nomogram(features: np.ndarray, labels: np.ndarray, task: str) -> dict:
    if len(set(labels.tolist())) < 2:
        raise ValueError(f"{NAME} for {task}: the training split needs both classes")
    model = LogisticRegression(C=1.0, max_iter=1000).fit(features, labels)  # mild L2: small cohorts
    return {
        "name": NAME,
        "task": task,
        "features": list(FEATURES),
        "coefficients": model.coef_[0].tolist(),
        "intercept": float(model.intercept_[0]),
        "n_train": len(labels),
        "n_positive": int(labels.sum()),
    }


def predict_nomogram(model: dict, features: np.ndarray) -> np.ndarray:
    logits = np.asarray(features, dtype=float) @ np.asarray(model["coefficients"]) + model["intercept"]
    return 1.0 / (1.0 + np.exp(-logits))


def save_nomogram(model: dict, path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(model, indent=2))
    return path


def load_nomogram(path) -> dict:
    model = json.loads(Path(path).read_text())
    if model.get("name") != NAME or model.get("features") != list(FEATURES):
        raise ValueError(f"{path}: not a {NAME} file")
    return model
