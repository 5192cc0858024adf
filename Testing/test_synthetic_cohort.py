"""Synthetic training cohorts (cohort/synthetic_cohort.py): the drawn mix, and inputs made by the
engine's own preparation, cached once."""

import dataclasses

import numpy as np

from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.cohort.synthetic_cohort import MIX, draw_specs, synthetic_cohort
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.phantom import make_phantom
from RenalMassAILib.phantom.pathology import SUBTYPES
from RenalMassAILib.prepare import prepare_case


def test_the_mix_covers_every_subtype_size_side_and_spacing():
    specs = draw_specs(500, seed=3)
    assert specs == draw_specs(500, seed=3)  # deterministic
    assert {s.subtype for s in specs} == set(SUBTYPES) == set(MIX)
    diameters = np.array([s.diameter_mm for s in specs])
    assert diameters.min() < 20 and diameters.max() > 90 and (diameters >= 10).all() and (diameters <= 100).all()
    assert {s.side for s in specs} == {"left", "right"} and {s.pole for s in specs} == {"upper", "mid", "lower"}
    assert len({s.spacing for s in specs}) > 400  # pixel sizes and slice thicknesses vary
    assert sum(s.direction != (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0) for s in specs) > 400  # oblique grids
    assert {s.variability for s in specs} == {1.0}  # the clinical HU spread, not a narrowed one


def test_inputs_are_the_engines_and_are_read_back_from_the_cache(tmp_path):
    authors = preset("authors-code")
    cohort = synthetic_cohort(3, 7, authors, tmp_path)
    assert cohort.patches.shape == (3, 3, 224, 224) and cohort.patches.dtype == np.float16
    assert cohort.present.all()
    spec = draw_specs(3, 7)[0]
    phantom = make_phantom(spec)
    case = phantom.case()
    solid = SUBTYPES[spec.subtype][0] == 2
    label_map = to_label_map(phantom.labels, case.reference) if solid else None
    prepared = prepare_case(case, authors, label_map, None if solid else phantom.lesion_center_lps)
    for slot, phase in enumerate("NAV"):
        expected = next(p for q, p in prepared.model_input.patches.items() if q.value == phase)
        np.testing.assert_allclose(cohort.patches[0, slot].astype(np.float32), expected, atol=1e-3)
    assert cohort.cases[0]["subtype"] == spec.subtype and cohort.cases[0]["class"] == phantom.pathology
    (cached,) = tmp_path.glob("synthetic-3-7-*.npz")
    written = cached.stat().st_mtime_ns
    again = synthetic_cohort(3, 7, authors, tmp_path)
    assert cached.stat().st_mtime_ns == written and np.array_equal(again.patches, cohort.patches)
    assert again.cases == cohort.cases


def test_workers_make_the_same_cohort(tmp_path):
    small = dataclasses.replace(preset("lesion-field"), size=32)
    alone = synthetic_cohort(3, 11, small, tmp_path / "one")
    pooled = synthetic_cohort(3, 11, small, tmp_path / "two", workers=2)
    assert np.array_equal(alone.patches, pooled.patches) and alone.cases == pooled.cases
    assert alone.patches.shape == (3, 3, 32, 32)
