"""Baselines: radiomics features (pyradiomics 3.0.1 with the authors' settings, on phantom sections),
the LASSO + random-forest package, the refitted RENAL nomogram, and `renalmassai baseline` on a
phantom cohort."""

import csv
import json
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from radiomics import featureextractor
from sklearn.ensemble import RandomForestClassifier

from conftest import csv_rows
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.cli import main
from RenalMassAILib.cohort.phantom_cohort import write_phantom_cohort
from RenalMassAILib.cohort.radiomics_features import (
    case_features,
    extractor_record,
    section_extractor,
    section_features,
    section_images,
)
from RenalMassAILib.cohort.radiomics_model import fit_radiomics_model, load_radiomics_model, save_radiomics_model
from RenalMassAILib.cohort.renal_nomogram import FEATURES, fit_nomogram, load_nomogram, predict_nomogram, save_nomogram
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.phantom.generator import make_phantom
from RenalMassAILib.prepare import prepare_case

AUTHORS_GLCM = [
    "Autocorrelation",
    "JointAverage",
    "ClusterProminence",
    "ClusterShade",
    "ClusterTendency",
    "Contrast",
    "Correlation",
    "DifferenceAverage",
    "DifferenceEntropy",
    "DifferenceVariance",
    "JointEnergy",
    "JointEntropy",
    "Imc1",
    "Imc2",
    "Idm",
    "Idmn",
    "Id",
    "Idn",
    "InverseVariance",
    "MaximumProbability",
    "SumEntropy",
    "SumSquares",
]


@pytest.fixture(scope="module")
def phantom_sections():
    phantom = make_phantom(size=(96, 96, 24), spacing=(3.0, 3.0, 4.0), seed=1)
    label_map = to_label_map(phantom.labels, phantom.images[Phase.ARTERIAL])
    prepared = prepare_case(phantom.case(), preset("authors-code"), label_map)
    return prepared, label_map, section_images(prepared, label_map)


def _authors_extractor():
    """pyradiomics configured in code with the facts of the authors' radiomics_feat.yaml (2D, Original
    image only, binWidth 4, distance 1, no normalisation), independent of our settings file."""
    extractor = featureextractor.RadiomicsFeatureExtractor(
        normalize=False, label=1, binWidth=4, distances=[1], geometryTolerance=0.01
    )
    extractor.disableAllFeatures()
    extractor.enableImageTypes(Original={})
    extractor.enableFeaturesByName(shape2D=[], firstorder=[], glcm=AUTHORS_GLCM, glrlm=[], glszm=[], gldm=[], ngtdm=[])
    return extractor


def test_radiomics_features_equal_pyradiomics_own_extractor_on_a_phantom_section(phantom_sections):
    prepared, label_map, sections = phantom_sections
    features = case_features(prepared, label_map)
    assert set(sections) == {Phase.NON_CONTRAST, Phase.ARTERIAL, Phase.VENOUS}
    reference = _authors_extractor()
    for phase, (image, mask) in sections.items():
        assert image.GetDimension() == 2 and image.GetSpacing() == (1.0, 1.0)  # one axial section, 1 mm pixels
        expected = {
            f"{phase.value}_{k}": float(v)
            for k, v in reference.execute(image, mask).items()
            if not k.startswith("diagnostics_")
        }
        ours = {k: v for k, v in features.items() if k.startswith(f"{phase.value}_")}
        assert ours.keys() == expected.keys() and len(ours) == 100  # 9 + 18 + 22 + 16 + 16 + 14 + 5
        for name, value in expected.items():
            assert ours[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name
    classes = {name.split("_")[2] for name in features}
    assert classes == {"shape2D", "firstorder", "glcm", "glrlm", "glszm", "gldm", "ngtdm"}
    assert all(name.split("_")[1] == "original" for name in features)  # no LoG / wavelet images


def test_section_features_follow_the_definitions_with_bin_width_4_hu(phantom_sections):
    _, _, sections = phantom_sections
    image, mask = sections[Phase.ARTERIAL]
    values = sitk.GetArrayFromImage(image)[sitk.GetArrayFromImage(mask) == 1].astype(float)
    features = section_features(image, mask)
    assert features["original_shape2D_PixelSurface"] == pytest.approx(len(values))  # 1 mm^2 pixels
    assert features["original_firstorder_Mean"] == pytest.approx(values.mean())
    counts = np.unique(np.floor(values / 4.0), return_counts=True)[1]  # bins of 4 HU on multiples of 4
    p = counts / counts.sum()
    assert len(p) > 3  # the phantom's noise spreads the tumor over several bins
    assert features["original_firstorder_Entropy"] == pytest.approx(-(p * np.log2(p)).sum(), rel=1e-6)
    assert features["original_firstorder_Uniformity"] == pytest.approx((p**2).sum(), rel=1e-9)


def test_a_section_pyradiomics_cannot_analyze_is_refused_with_its_phase():
    image = sitk.GetImageFromArray(np.zeros((20, 20), np.float32))
    mask = sitk.GetImageFromArray(np.zeros((20, 20), np.uint8))  # no tumor pixel
    with pytest.raises(ValueError, match="radiomics of phase A: pyradiomics"):
        section_features(image, mask, "A")


def test_a_missing_pyradiomics_is_refused_with_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "radiomics", None)  # what `import radiomics` meets without the package
    section_extractor.cache_clear()
    try:
        with pytest.raises(InputError, match="--no-build-isolation pyradiomics==3.0.1"):
            extractor_record()
    finally:
        section_extractor.cache_clear()


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


def test_packages_of_another_feature_set_are_refused(tmp_path):
    x, y = _synthetic()
    names = [f"f{i}" for i in range(x.shape[1])]
    folder = save_radiomics_model(fit_radiomics_model(x, y, names, "malignancy", trees=5), tmp_path / "pkg")
    card_path = folder / "model.json"
    card = json.loads(card_path.read_text())
    assert card["feature_extractor"] == extractor_record() and card["feature_extractor"]["pyradiomics"] == "v3.0.1"
    assert card["feature_extractor"]["settings"]["binWidth"] == 4
    old = {k: v for k, v in card.items() if k != "feature_extractor"}  # what earlier versions wrote
    card_path.write_text(json.dumps(old))
    with pytest.raises(InputError, match="hand-written features .* retrain"):
        load_radiomics_model(folder)
    other = json.loads(json.dumps(card))
    other["feature_extractor"]["settings"]["binWidth"] = 25
    card_path.write_text(json.dumps(other))
    with pytest.raises(InputError, match="settings differ .* retrain"):
        load_radiomics_model(folder)
    card_path.write_text(json.dumps(card))
    model = load_radiomics_model(folder)
    rows = [dict(zip(names, row)) for row in x[:3]]
    np.testing.assert_array_equal(model.feature_matrix(rows), x[:3])
    del rows[1]["f4"]
    with pytest.raises(InputError, match="case 2 lacks feature 'f4'"):
        model.feature_matrix(rows)


def test_nomogram_recovers_a_known_logistic_model(tmp_path):
    """Cases drawn from a logistic model with known coefficients (R and N raise the odds, an anterior
    mass lowers them): the refit finds them, and the saved JSON predicts what that model predicts."""
    rng = np.random.default_rng(1)
    points = rng.integers(1, 4, size=(6000, 4)).astype(float)
    a = rng.integers(0, 3, size=6000)
    features = np.column_stack([points, a == 1, a == 2]).astype(float)
    truth = np.array([1.2, 0.0, 0.6, 0.0, -0.8, 0.0])
    logits = features @ truth - 3.0
    labels = (rng.random(6000) < 1.0 / (1.0 + np.exp(-logits))).astype(int)
    model = fit_nomogram(features, labels, "malignancy")
    assert model["features"] == list(FEATURES)
    np.testing.assert_allclose(model["coefficients"], truth, atol=0.15)
    assert model["intercept"] == pytest.approx(-3.0, abs=0.4)
    saved = load_nomogram(save_nomogram(model, tmp_path / "nomogram.json"))
    expected = 1.0 / (1.0 + np.exp(-(features[:5] @ truth - 3.0)))
    np.testing.assert_allclose(predict_nomogram(saved, features[:5]), expected, atol=0.05)


def test_baseline_command_on_a_phantom_cohort(tmp_path, capsys):
    manifest = write_phantom_cohort(tmp_path / "cohort", 24, seed=5, size=(96, 96, 24), spacing=(3.0, 3.0, 4.0))
    batch = tmp_path / "batch"  # what `batch` writes: the deep model's predictions per task
    batch.mkdir()
    rows = csv_rows(manifest)
    rows_by_id = {r["case_id"]: r for r in rows}
    with open(batch / "predictions_malignancy.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["case_id", "label", "probability"])
        writer.writerows([[r["case_id"], int(r["class"] != "benign"), 0.5] for r in rows])
    out = tmp_path / "baseline"
    assert main(["baseline", "--manifest", str(manifest), "--batch", str(batch), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "malignancy: fitted on" in printed
    summary = json.loads((out / "baselines.json").read_text())
    cysts = {r["case_id"] for r in rows if r["subtype"].startswith("bosniak-2")}
    assert cysts and all(rows_by_id[c]["segmentation"] and rows_by_id[c]["center_lps"] for c in cysts)
    assert set(summary["errors"]) == cysts  # Bosniak 2 cysts have no tumor segment: recorded, not scored
    assert all("no tumor segment" in error for error in summary["errors"].values())
    predictions = csv_rows(out / "predictions_malignancy.csv")
    test_ids = {r["case_id"] for r in rows if r["split"] == "test"} - cysts
    assert {p["case_id"] for p in predictions} == test_ids
    for p in predictions:
        assert p["deep_model"] == "0.5" and p["probability"] == "0.5"
        assert (
            0 <= float(p["radiomics"]) <= 1
            and 0 <= float(p["renal_nomogram"]) <= 1
            and 4 <= int(p["renal_score"]) <= 12
        )
    assert (out / "renal_nomogram_malignancy.json").exists()
    assert summary["radiomics_extractor"]["settings"]["binWidth"] == 4
    features = {f["case_id"]: f for f in csv_rows(out / "features.csv")}
    assert {
        "renal_R_points",
        "renal_total",
        "A_original_glcm_Contrast",
        "V_original_firstorder_Mean",
        "N_original_ngtdm_Busyness",
    } <= set(next(iter(features.values())))
    # the saved package reproduces the CSV's radiomics column from the features it wrote
    package = load_radiomics_model(out / "radiomics_malignancy")
    rows = [{k: float(v) for k, v in features[p["case_id"]].items() if k in package.features} for p in predictions]
    np.testing.assert_allclose(
        package.predict(package.feature_matrix(rows)), [float(p["radiomics"]) for p in predictions], atol=1e-6
    )
