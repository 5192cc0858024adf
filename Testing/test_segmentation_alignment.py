"""Segmentation on a misregistered non-reference phase: the bundled demo model reads the venous phase,
the reference is arterial, and the venous phase is moved by a known rigid motion (phantom generator).
The label map must land in the arterial anatomy (lesion center right) with and without --register, and
the classifier's inputs must match those of the same phantom without misregistration."""

import json

import numpy as np
import pytest

from conftest import phantom, phase_arguments
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main
from RenalMassAILib.lesion.lesion import body_midline_x, find_lesions
from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
from RenalMassAILib.lesion.segmentation import SegmentationOptions, segment
from RenalMassAILib.resources import demo_segmentation_model

SPEC = dict(seed=7901, subtype="ccRCC", diameter_mm=45.0, side="left", pole="mid", phases=("A", "V"),
            size=(112, 112, 30), spacing=(2.5, 2.5, 4.0), noise_hu=5.0)  # fmt: skip
MOVED = dict(misregistration_mm=5.0, misregistration_deg=3.0)


def _analyze(tmp_path, p, name: str, *extra: str) -> tuple[dict, dict]:
    files = {k: str(v) for k, v in p.write(tmp_path / name).items()}
    out = tmp_path / f"{name}-out"
    assert (
        main(
            [
                "analyze",
                *phase_arguments(files, "AV"),
                "--seg-model",
                str(demo_segmentation_model()),
                "--mirroring",
                "off",
                "--no-bf16",
                "--no-screenshots",
                "--save-inputs",
                *extra,
                "--out",
                str(out),
            ]
        )
        == 0
    )
    report = json.loads((out / "report.json").read_text())
    patches = {phase: np.load(out / "inputs" / "lesion-field" / f"{phase}.npy") for phase in "AV"}
    return report, patches


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """The same phantom without misregistration: what a perfect alignment gives."""
    return _analyze(tmp_path_factory.mktemp("registered"), phantom(**SPEC), "registered")


@pytest.mark.parametrize("register", [False, True])
def test_lesion_center_and_patches_are_right_on_a_misregistered_venous_phase(tmp_path, registered, register):
    p = phantom(**SPEC, **MOVED)
    truth = np.asarray(p.lesion_center_lps)
    moved = np.asarray(p.phase_transforms[Phase.VENOUS].TransformPoint(list(truth)))
    assert np.linalg.norm(moved - truth) > 3.0  # the venous phase really is misregistered at the lesion
    report, patches = _analyze(tmp_path, p, "moved", *(["--register"] if register else []))
    center = np.asarray(report["lesion"]["center_lps"])
    assert report["lesion"]["center_source"] == "segmentation"
    assert np.linalg.norm(center - truth) < 1.0
    assert np.linalg.norm(center - np.asarray(registered[0]["lesion"]["center_lps"])) < 1.0
    assert _correlation(patches["A"], registered[1]["A"]) > 0.95
    if register:  # registered, the venous input matches the one of the perfectly registered phantom
        assert _correlation(patches["V"], registered[1]["V"]) > 0.95
    else:  # the authors' convention: the venous input is sampled at the same world point, not moved
        assert report["alignment"]["V"] == {"method": "world"}
    # how the venous phase the model read was brought onto the arterial grid, whatever --register says
    alignment = report["segmentation"]["alignment"]["V"]
    assert alignment["kept"] == "registration" and alignment["correlation_after"] > alignment["correlation_before"]
    assert report["segmentation"]["phases_read"] == ["V"]


def test_segment_registers_the_phase_it_reads_when_given_the_whole_case():
    """The path of the Slicer module and of batch: every phase goes to segment(), which registers the
    venous phase onto the arterial one itself before the model reads it."""
    p = phantom(**SPEC, **MOVED)
    case = p.case()
    model = open_segmentation_model(demo_segmentation_model(), case.phases)
    result = segment(case, model, None, SegmentationOptions(mirroring=False, bf16=False))
    assert result.alignment["V"]["kept"] == "registration"
    assert result.label_map.image.GetSize() == case.reference.GetSize()
    lesion = find_lesions(result.label_map, body_midline_x(case.reference))[0]  # what prepare_case analyses
    assert np.linalg.norm(np.asarray(lesion.centroid_lps) - np.asarray(p.lesion_center_lps)) < 1.0
