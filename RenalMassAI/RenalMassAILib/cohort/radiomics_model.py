"""The radiomics baseline as a model package of its own kind: standardised features, LASSO selection
(L1 logistic regression, cross-validated), random forest (the paper's recipe).

The package is a folder with model.json (kind, task, features, selection, the pyradiomics version and
settings the features were extracted with, SHA-256) and forest.json (standardisation and every tree
as arrays). Prediction walks the trees with numpy: nothing is unpickled, as for the deep models'
packages. A package whose features came from another extractor (the hand-written features of earlier
RenalMassAI versions, other pyradiomics settings or version) is refused on loading: its features
would be mis-fed."""

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegressionCV

from RenalMassAILib.cohort.radiomics_features import extractor_record
from RenalMassAILib.errors import InputError

KIND = "radiomics-lasso-rf"
FOREST_FILE = "forest.json"


@dataclasses.dataclass(frozen=True)
class RadiomicsModel:
    task: str
    features: list[str]  # all input features, in order
    mean: np.ndarray
    std: np.ndarray
    selected: list[int]  # indices of the features the forest uses
    trees: list[dict]  # left, right, feature, threshold, positive (leaf probability of class 1)
    card: dict

    def feature_matrix(self, cases: list[dict[str, float]]) -> np.ndarray:
        """Rows of `self.features` from {name: value} dicts; a missing feature is refused by name."""
        for number, case in enumerate(cases):
            missing = [name for name in self.features if name not in case]
            if missing:
                raise InputError(
                    f"radiomics model ({self.task}): case {number + 1} lacks feature {missing[0]!r} "
                    f"(and {len(missing) - 1} more): extract features with the package's settings"
                )
        return np.array([[case[name] for name in self.features] for case in cases], dtype=float)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """P(positive) for rows of features in `self.features` order."""
        x = ((np.asarray(features, dtype=float) - self.mean) / self.std)[:, self.selected].astype(np.float32)
        return np.mean([_walk(tree, x) for tree in self.trees], axis=0)


def fit_radiomics_model(
    features: np.ndarray,
    labels: np.ndarray,
    names: list[str],
    task: str,
    seed: int = 0,
    trees: int = 200,
    feature_extractor: dict | None = None,
) -> RadiomicsModel:
    """`feature_extractor`: how the features were extracted (default: this installation's
    pyradiomics record, radiomics_features.extractor_record())."""
    labels = np.asarray(labels, dtype=int)
    minority = int(min(labels.sum(), len(labels) - labels.sum()))
    if minority < 2:
        raise ValueError(f"radiomics baseline for {task}: the training split needs at least 2 cases of each class")
    mean, std = features.mean(axis=0), features.std(axis=0)
    std[std == 0] = 1.0
    x = (features - mean) / std
    lasso = LogisticRegressionCV(
        Cs=10,
        cv=min(5, minority),
        l1_ratios=(1.0,),
        solver="liblinear",
        scoring="roc_auc",
        random_state=seed,
        max_iter=2000,
        use_legacy_attributes=False,
    ).fit(x, labels)
    selected = [int(i) for i in np.nonzero(lasso.coef_[0])[0]] or list(range(len(names)))
    forest = RandomForestClassifier(n_estimators=trees, min_samples_leaf=2, random_state=seed).fit(
        x[:, selected], labels
    )
    card = {
        "kind": KIND,
        "task": task,
        "features": list(names),
        "selected": [names[i] for i in selected],
        "n_train": len(labels),
        "n_positive": int(labels.sum()),
        "trees": trees,
        "seed": seed,
        "lasso_C": float(np.ravel(lasso.C_)[0]),
        "feature_extractor": feature_extractor if feature_extractor is not None else extractor_record(),
    }
    return RadiomicsModel(task, list(names), mean, std, selected, [_export(e.tree_) for e in forest.estimators_], card)


def _export(tree) -> dict:
    values = tree.value[:, 0, :]
    positive = values[:, 1] / values.sum(axis=1)
    return {
        "left": tree.children_left.tolist(),
        "right": tree.children_right.tolist(),
        "feature": tree.feature.tolist(),
        "threshold": tree.threshold.tolist(),
        "positive": positive.tolist(),
    }


def _walk(tree: dict, x: np.ndarray) -> np.ndarray:
    left, right = np.asarray(tree["left"]), np.asarray(tree["right"])
    feature, threshold = np.asarray(tree["feature"]), np.asarray(tree["threshold"])
    node = np.zeros(len(x), dtype=int)
    rows = np.arange(len(x))
    while True:
        inner = left[node] != -1
        if not inner.any():
            return np.asarray(tree["positive"])[node]
        go_left = x[rows, np.maximum(feature[node], 0)] <= threshold[node]
        node = np.where(inner, np.where(go_left, left[node], right[node]), node)


def save_radiomics_model(model: RadiomicsModel, folder) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    forest = json.dumps(
        {"mean": model.mean.tolist(), "std": model.std.tolist(), "selected": model.selected, "trees": model.trees}
    ).encode()
    (folder / FOREST_FILE).write_bytes(forest)
    card = {**model.card, "files": {FOREST_FILE: hashlib.sha256(forest).hexdigest()}}
    (folder / "model.json").write_text(json.dumps(card, indent=2))
    return folder


def load_radiomics_model(folder) -> RadiomicsModel:
    folder = Path(folder)
    try:
        card = json.loads((folder / "model.json").read_text())
        data = (folder / FOREST_FILE).read_bytes()
    except (OSError, json.JSONDecodeError) as error:
        raise InputError(f"radiomics package {str(folder)!r}: {error}") from error
    if card.get("kind") != KIND:
        raise InputError(f"radiomics package {str(folder)!r}: kind {card.get('kind')!r}, expected {KIND!r}")
    if hashlib.sha256(data).hexdigest() != card.get("files", {}).get(FOREST_FILE):
        raise InputError(f"radiomics package {str(folder)!r}: {FOREST_FILE} does not match its SHA-256 in model.json")
    _check_feature_extractor(card, folder)
    forest = json.loads(data)
    return RadiomicsModel(
        card["task"],
        card["features"],
        np.asarray(forest["mean"]),
        np.asarray(forest["std"]),
        forest["selected"],
        forest["trees"],
        card,
    )


def _check_feature_extractor(card: dict, folder: Path) -> None:
    recorded, current = card.get("feature_extractor"), extractor_record()
    if recorded is None:
        raise InputError(
            f"radiomics package {str(folder)!r}: trained on the hand-written features of an earlier "
            "RenalMassAI (no pyradiomics record); the feature set changed: retrain it with "
            "`renalmassai baseline`"
        )
    if recorded != current:
        changed = sorted(key for key in set(recorded) | set(current) if recorded.get(key) != current.get(key))
        raise InputError(
            f"radiomics package {str(folder)!r}: its features were extracted with other settings "
            f"({', '.join(changed)} differ from pyradiomics {current['pyradiomics']} with "
            f"{current['settings_file']}); the feature set changed: retrain it with `renalmassai baseline`"
        )
