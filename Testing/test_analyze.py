"""`renalmassai analyze` with the bundled demo models, and Grad-CAM on the lesion."""

import json

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import phantom, phase_arguments
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.model_registry import builtin_dir
from RenalMassAILib.cli import main
from RenalMassAILib.present.report import DEMO_BANNER

SPEC = dict(
    seed=41,
    subtype="ccRCC",
    grade=4,
    necrosis=True,
    diameter_mm=50.0,
    size=(128, 128, 28),
    spacing=(2.6, 2.6, 4.0),
    side="left",
)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    p = phantom(**SPEC)
    return p, {k: str(v) for k, v in p.write(tmp_path_factory.mktemp("case")).items()}


def _run(files, command: str, phases: str, out, *options: str) -> int:
    """`command` (analyze or prepare) on the phantom's phases and segmentation; the exit status."""
    return main([command, *phase_arguments(files, phases), "--segmentation", files["segmentation"], *options,
                 "--out", str(out)])  # fmt: skip


def test_demo_models_are_bundled():
    for model in ("demo-early-fusion-resnet18", "demo-shared-resnet18"):
        assert (builtin_dir() / model / "model.json").is_file()


def test_analyze_gives_both_probabilities_with_the_demo_models(tmp_path, case, capsys):
    _p, files = case
    out = tmp_path / "out"
    assert _run(files, "analyze", "NAV", str(out), "--save-inputs") == 0
    printed = capsys.readouterr().out
    assert DEMO_BANNER in printed
    report = json.loads((out / "report.json").read_text())
    assert report["demo"] is True and report["notice"] == DEMO_BANNER
    malignancy, aggressiveness = report["predictions"]["malignancy"], report["predictions"]["aggressiveness"]
    for prediction in (malignancy, aggressiveness):
        assert 0.0 <= prediction["probability"] <= 1.0
        assert prediction["phases_used"] == ["N", "A", "V"]
        assert prediction["model"]["demo"] is True and prediction["model"]["id"] == "demo-early-fusion-resnet18"
    assert aggressiveness["score_0_10"] == pytest.approx(10 * aggressiveness["probability"], abs=0.01)
    assert report["lesion"]["volume_ml"] > 0 and (out / "segmentation.nii.gz").exists()
    renal = report["nephrometry"]  # R.E.N.A.L. of the analyzed tumor (50 mm: R = 2)
    assert renal["R_points"] == 2 and renal["total"] == sum(renal[f"{c}_points"] for c in "RENL")
    # the saved inputs are exactly what `prepare` writes for the same preset (the demo classifier's)
    assert _run(files, "prepare", "NAV", str(tmp_path / "prep"), "--preprocessing", "lesion-field") == 0
    for phase in "NAV":
        assert np.array_equal(
            np.load(out / "inputs" / "lesion-field" / f"{phase}.npy"),
            np.load(tmp_path / "prep" / "inputs" / f"{phase}.npy"),
        )
    # Grad-CAM maps: one per task and phase, in [0, 1], also as images in the case's physical space
    for task in ("malignancy", "aggressiveness"):
        for phase in "NAV":
            entry = report["explanations"][task][phase]
            heat = np.load(out / entry["patch"])
            assert heat.shape == (224, 224) and heat.min() >= 0 and heat.max() <= 1
            image = sitk.ReadImage(str(out / entry["image"]))
            geometry = report["inputs"]["lesion-field"]["geometry"]
            assert np.allclose(image.GetOrigin(), geometry["origin_lps"], atol=1e-3)
            assert np.allclose(sitk.GetArrayFromImage(image)[0], heat, atol=1e-6)


def test_a_missing_phase_is_reported_in_the_result(tmp_path, case):
    _, files = case
    out = tmp_path / "out"
    assert _run(files, "analyze", "AV", str(out), "--no-screenshots") == 0
    report = json.loads((out / "report.json").read_text())
    assert report["predictions"]["malignancy"]["phases_used"] == ["A", "V"]
    assert set(report["explanations"]["malignancy"]) == {"A", "V"}
    # without the scene: no screenshots, no summary page, the rest as usual
    assert "screenshots" not in report and not (out / "screenshots").exists() and not (out / "summary.html").exists()


def test_gradcam_concentrates_on_the_lesion(case):
    """The demo model was trained on phantoms whose label depends only on the lesion: its maps
    should be brighter on the lesion than elsewhere."""
    from RenalMassAILib.classify.model_package import load_package
    from RenalMassAILib.classify.preprocessing import preset
    from RenalMassAILib.lesion.label_map import to_label_map
    from RenalMassAILib.pipeline import Analyzer
    from RenalMassAILib.prepare import prepare_case

    p, _ = case
    prepared = prepare_case(p.case(), preset("authors-code"), to_label_map(p.labels, p.images[Phase.ARTERIAL]))
    analysis = Analyzer(prepared).run()
    geometry = analysis.model_inputs["lesion-field"].geometry  # the demo classifier's preset
    lesion = (
        sitk.GetArrayViewFromImage(
            sitk.Resample(p.labels, geometry.grid(), sitk.Transform(), sitk.sitkNearestNeighbor, 0)
        )[0]
        == 2
    )
    assert lesion.mean() > 0.05
    for task, maps in analysis.explanations.items():
        combined = np.mean(list(maps.values()), axis=0)
        assert combined[lesion].mean() > 1.5 * combined[~lesion].mean(), task
    assert load_package(builtin_dir() / "demo-early-fusion-resnet18").card.demo
