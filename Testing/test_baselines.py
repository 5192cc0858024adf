"""Baselines: radiomics features (pyradiomics definitions), the LASSO + random-forest package, the
refitted RENAL nomogram, and `renalmassai baseline` on a phantom cohort."""

import csv
import json

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from RenalMassAILib.cli import main
from RenalMassAILib.cohort.radiomics_features import first_order, glcm, shape_2d
from RenalMassAILib.cohort.radiomics_model import fit_radiomics_model, load_radiomics_model, save_radiomics_model
from RenalMassAILib.cohort.renal_nomogram import FEATURES, fit_nomogram, predict_nomogram
from RenalMassAILib.errors import InputError
from RenalMassAILib.phantom.cohort import write_phantom_cohort


def disc(radius: float, size: int = 101) -> np.ndarray:
    y, x = np.mgrid[0:size, 0:size] - size // 2
    return x ** 2 + y ** 2 <= radius ** 2


def test_first_order_follows_the_pyradiomics_definitions():
    x = np.array([10.0, 20.0, 30.0, 40.0, 100.0])
    f = first_order(x, pixel_area=0.5)
    assert f["Mean"] == pytest.approx(40.0) and f["Variance"] == pytest.approx(np.var(x))
    assert f["Energy"] == pytest.approx((x ** 2).sum()) and f["TotalEnergy"] == pytest.approx(0.5 * (x ** 2).sum())
    assert f["Skewness"] == pytest.approx(((x - 40) ** 3).mean() / np.var(x) ** 1.5)
    assert f["Kurtosis"] == pytest.approx(((x - 40) ** 4).mean() / np.var(x) ** 2)  # not excess kurtosis
    # bins of 25 HU on multiples of 25: {10, 20}, {30, 40}, {100} -> p = 0.4, 0.4, 0.2
    p = np.array([0.4, 0.4, 0.2])
    assert f["Uniformity"] == pytest.approx((p ** 2).sum())
    assert f["Entropy"] == pytest.approx(-(p * np.log2(p)).sum(), abs=1e-9)
    flat = first_order(np.full(20, 37.0), 1.0)
    assert flat["Entropy"] == pytest.approx(0.0, abs=1e-9) and flat["Uniformity"] == 1.0


def test_shape_of_a_disc_and_of_a_rectangle():
    f = shape_2d(disc(20), pixel_mm=0.5)
    assert f["PixelSurface"] == pytest.approx(np.pi * 10 ** 2, rel=0.02)
    assert f["MaximumDiameter"] == pytest.approx(20.0, abs=1.0)
    assert f["Sphericity"] == pytest.approx(1.0, abs=0.1) and f["Elongation"] == pytest.approx(1.0, abs=0.02)
    rectangle = np.zeros((60, 60), bool)
    rectangle[10:50, 20:40] = True  # 40 x 20 pixels
    assert shape_2d(rectangle, 1.0)["Elongation"] == pytest.approx(0.5, abs=0.02)


def test_glcm_of_flat_and_striped_regions():
    mask = np.ones((20, 20), bool)
    flat = glcm(np.full((20, 20), 50.0), mask)
    assert flat["JointEnergy"] == pytest.approx(1.0) and flat["Contrast"] == 0 and flat["Idm"] == pytest.approx(1.0)
    stripes = np.where(np.arange(20)[None, :] % 2 == 0, 0.0, 30.0).repeat(20, axis=0)  # two levels, columns alternate
    f = glcm(stripes, mask)
    # horizontal and diagonal neighbours always differ by one level, vertical ones never
    assert f["Contrast"] == pytest.approx(0.75) and f["DifferenceAverage"] == pytest.approx(0.75)
    assert f["JointEntropy"] > 0 and f["Correlation"] < 0


def _synthetic(n=60, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8))
    y = (x[:, 2] - 0.8 * x[:, 5] + 0.5 * rng.normal(size=n) > 0).astype(int)
    return x, y


def test_radiomics_package_predicts_as_the_forest_and_refuses_tampering(tmp_path):
    x, y = _synthetic()
    names = [f"f{i}" for i in range(x.shape[1])]
    model = fit_radiomics_model(x, y, names, "malignancy", seed=3, trees=50)
    assert {"f2", "f5"} <= set(model.card["selected"])  # LASSO keeps the informative features
    standardised = ((x - model.mean) / model.std)[:, model.selected]
    reference = RandomForestClassifier(n_estimators=50, min_samples_leaf=2, random_state=3).fit(standardised, y)
    np.testing.assert_allclose(model.predict(x), reference.predict_proba(standardised)[:, 1], atol=1e-12)
    folder = save_radiomics_model(model, tmp_path / "pkg")
    np.testing.assert_allclose(load_radiomics_model(folder).predict(x), model.predict(x), atol=1e-12)
    forest = folder / "forest.json"
    forest.write_text(forest.read_text().replace('"threshold": [', '"threshold": [0.5, ', 1))
    with pytest.raises(InputError, match="SHA-256"):
        load_radiomics_model(folder)
    with pytest.raises(ValueError, match="2 cases of each class"):
        fit_radiomics_model(x[:5], np.array([1, 1, 1, 1, 0]), names, "malignancy")


def test_nomogram_is_the_fitted_logistic_model():
    rng = np.random.default_rng(1)
    points = rng.integers(1, 4, size=(80, 4)).astype(float)
    a = rng.integers(0, 3, size=80)
    features = np.column_stack([points, a == 1, a == 2]).astype(float)
    labels = (points[:, 0] + rng.normal(scale=0.7, size=80) > 2).astype(int)  # bigger masses: more often malignant
    model = fit_nomogram(features, labels, "malignancy")
    assert model["features"] == list(FEATURES) and model["coefficients"][0] > 0
    reference = LogisticRegression(C=1.0, max_iter=1000).fit(features, labels)
    np.testing.assert_allclose(predict_nomogram(model, features), reference.predict_proba(features)[:, 1], atol=1e-9)


def test_baseline_command_on_a_phantom_cohort(tmp_path, capsys):
    manifest = write_phantom_cohort(tmp_path / "cohort", 24, seed=5, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0))
    batch = tmp_path / "batch"  # what `batch` writes: the deep model's predictions per task
    batch.mkdir()
    rows = list(csv.DictReader(open(manifest)))
    with open(batch / "predictions_malignancy.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["case_id", "label", "probability"])
        writer.writerows([[r["case_id"], int(r["class"] != "benign"), 0.5] for r in rows])
    out = tmp_path / "baseline"
    assert main(["baseline", "--manifest", str(manifest), "--batch", str(batch), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "malignancy: fitted on" in printed
    summary = json.loads((out / "baselines.json").read_text())
    cysts = {r["case_id"] for r in rows if not r["segmentation"]}
    assert set(summary["errors"]) == cysts  # Bosniak 2 cysts have no tumour segment: recorded, not scored
    predictions = list(csv.DictReader(open(out / "predictions_malignancy.csv")))
    test_ids = {r["case_id"] for r in rows if r["split"] == "test"} - cysts
    assert {p["case_id"] for p in predictions} == test_ids
    for p in predictions:
        assert p["deep_model"] == "0.5" and p["probability"] == "0.5"
        assert 0 <= float(p["radiomics"]) <= 1 and 0 <= float(p["renal_nomogram"]) <= 1 and 4 <= int(p["renal_score"]) <= 12
    assert (out / "radiomics_malignancy" / "model.json").exists() and (out / "renal_nomogram_malignancy.json").exists()
    features = list(csv.DictReader(open(out / "features.csv")))
    assert {"renal_R_points", "renal_total", "A_glcm_Contrast", "V_firstorder_Mean"} <= set(features[0])
