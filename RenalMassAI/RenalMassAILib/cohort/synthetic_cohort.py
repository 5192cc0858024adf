"""Synthetic training cohorts made in memory: phantoms of every subtype straight to model inputs.

No NIfTI round trip: each phantom is drawn, rendered, prepared (the engine's own `prepare_case`) and
only its network inputs are kept, as float16, in one cached .npz per cohort. Hundreds of cases cost
about a second each on one CPU core, and a second run with the same arguments reads the file.

The cases follow the clinical picture of ../shared/reference/clinical.md as the phantom draws it: all
11 subtypes (benign, indolent and aggressive masses, solid and cystic), the full between-patient HU
spread (`variability` 1), diameters of 1-10 cm, both sides, every pole, in-plane pixels of 1.6-2.6 mm
(slices 2.5-5 mm), and the patient turned up to 10 degrees about the body axis (an oblique voxel grid).
"""

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import multiprocessing
from pathlib import Path

import numpy as np

from RenalMassAILib import __version__
from RenalMassAILib.classify.networks.fusion import PHASE_SLOTS
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.phantom.generator import PhantomSpec, make_phantom
from RenalMassAILib.phantom.pathology import SUBTYPES, pathology_class
from RenalMassAILib.phantom.shapes import rotation_matrix
from RenalMassAILib.prepare import prepare_case

# subtype -> share of the cohort: all subtypes, about the mix of incidental masses that reach surgery
MIX = {"ccRCC": 0.28, "papillary": 0.1, "chromophobe": 0.07, "oncocytoma": 0.09, "fat-poor-AML": 0.07,
       "classic-AML": 0.07, "bosniak-1": 0.05, "bosniak-2": 0.05, "bosniak-2F": 0.06, "bosniak-3": 0.08,
       "bosniak-4": 0.08}  # fmt: skip
BODY_MM = (330.0, 330.0, 110.0)  # the field of view rendered around the lesion level
# In-plane pixel size drawn per case. Coarser than clinical CT (0.6-0.9 mm) so that a case costs about a
# second: the inputs are resampled to 0.54 mm pixels either way (see the README's limits).
PIXEL_MM = (1.6, 2.6)


@dataclasses.dataclass(frozen=True)
class SyntheticCohort:
    patches: np.ndarray  # float16 [n, 3, H, W] in N, A, V slots
    present: np.ndarray  # bool [n, 3]
    cases: list[dict]  # per case: subtype, grade, necrosis, diameter_mm, side, spacing, class, seed

    @property
    def classes(self) -> list[str]:
        return [case["class"] for case in self.cases]


def draw_specs(cases: int, seed: int, mix: dict[str, float] | None = None) -> list[PhantomSpec]:
    """The cohort's phantoms (deterministic for a seed); `mix`: subtype -> share, MIX (all 11) by default."""
    assert set(MIX) == set(SUBTYPES), "every subtype has a share"
    mix = mix or MIX
    if not set(mix) <= set(SUBTYPES):
        raise ValueError(f"unknown subtypes {sorted(set(mix) - set(SUBTYPES))}: use those of {sorted(SUBTYPES)}")
    rng = np.random.default_rng(seed)
    names, shares = list(mix), np.array(list(mix.values()))
    specs = []
    for number in range(cases):
        pixel = float(rng.uniform(*PIXEL_MM))
        matrix = round(BODY_MM[0] / pixel)
        slice_mm = float(rng.choice([2.5, 3.0, 4.0, 5.0]))
        turn = rotation_matrix((0.0, 0.0, 1.0), float(rng.uniform(-10, 10)))
        specs.append(PhantomSpec(
            subtype=str(rng.choice(names, p=shares / shares.sum())),
            diameter_mm=float(rng.uniform(10, 100)), grade=int(rng.integers(1, 5)), necrosis=bool(rng.random() < 0.3),
            side=str(rng.choice(["left", "right"])), pole=str(rng.choice(["upper", "mid", "lower"])),
            exophytic=float(rng.uniform(0.2, 0.8)),
            size=(matrix, matrix, round(BODY_MM[2] / slice_mm)), spacing=(pixel, pixel, slice_mm),
            direction=tuple(float(v) for v in turn.flatten()), variability=1.0, seed=seed * 100_000 + number,
        ))  # fmt: skip
    return specs


def synthetic_cohort(
    cases: int, seed: int, preprocessing: Preprocessing, cache_dir, log=None, workers: int = 1, mix=None
) -> SyntheticCohort:
    """The cohort's model inputs, made once (in `workers` processes) and then read from `cache_dir`.
    Each case depends only on its own spec, so the cohort is the same for any number of workers.
    `mix`: subtype -> share (draw_specs)."""
    specs = draw_specs(cases, seed, mix)
    key = hashlib.sha1(
        json.dumps([__version__, preprocessing.to_dict(), [dataclasses.asdict(s) for s in specs]], sort_keys=True,
                   default=str).encode()
    ).hexdigest()[:16]  # fmt: skip
    path = Path(cache_dir) / f"synthetic-{cases}-{seed}-{key}.npz"
    if path.exists():
        stored = np.load(path, allow_pickle=False)
        return SyntheticCohort(stored["patches"], stored["present"], json.loads(str(stored["cases"])))
    size = preprocessing.size
    patches = np.zeros((cases, len(PHASE_SLOTS), size, size), dtype=np.float16)
    present = np.zeros((cases, len(PHASE_SLOTS)), dtype=bool)
    records = []
    for number, (case_patches, case_present, record) in enumerate(_made(specs, preprocessing, workers)):
        patches[number], present[number] = case_patches, case_present
        records.append(record)
        if log and number % 50 == 0:
            log(f"synthetic case {number}/{cases}")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.npz")
    np.savez(partial, patches=patches, present=present, cases=json.dumps(records))
    partial.replace(path)
    return SyntheticCohort(patches, present, records)


def _made(specs: list[PhantomSpec], preprocessing: Preprocessing, workers: int):
    """Each spec's inputs, in order; in a pool of fresh processes when workers > 1."""
    if workers <= 1:
        yield from (_case_inputs(spec, preprocessing) for spec in specs)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a parent holding torch's thread pools
    with concurrent.futures.ProcessPoolExecutor(workers, mp_context=context) as pool:
        yield from pool.map(_case_inputs, specs, itertools.repeat(preprocessing), chunksize=8)


def _case_inputs(spec: PhantomSpec, preprocessing: Preprocessing):
    phantom = make_phantom(spec)
    case = phantom.case()
    label_map = to_label_map(phantom.labels, case.reference)
    solid = SUBTYPES[spec.subtype][0] == 2  # cysts (KiTS label 3) are located by their center instead
    center = None if solid else phantom.lesion_center_lps
    prepared = prepare_case(case, preprocessing, label_map, center)  # the label map sizes a lesion-field
    patches = np.zeros((len(PHASE_SLOTS), preprocessing.size, preprocessing.size), dtype=np.float16)
    present = np.zeros(len(PHASE_SLOTS), dtype=bool)
    for phase, patch in prepared.model_input.patches.items():
        slot = PHASE_SLOTS.index(phase.value)
        patches[slot], present[slot] = patch, True
    record = {"subtype": spec.subtype, "grade": spec.grade, "necrosis": spec.necrosis,
              "diameter_mm": round(spec.diameter_mm, 1), "side": phantom.lesion_side, "spacing": list(spec.spacing),
              "class": pathology_class(spec.subtype, spec.grade, spec.necrosis), "seed": spec.seed}  # fmt: skip
    return patches, present, record
