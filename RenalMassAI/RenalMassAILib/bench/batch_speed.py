"""Cases per hour of `renalmassai batch` with the demo models, on 1 and on 2 Dask workers."""

import itertools
import tempfile
from pathlib import Path

from RenalMassAILib.bench.repeated import repeated
from RenalMassAILib.cohort.batch import BatchSettings, run_batch
from RenalMassAILib.cohort.manifest import case_row, write_manifest
from RenalMassAILib.phantom import PhantomSpec, make_phantom

CASES = 12


def run(size=(160, 160, 48), repeats: int = 1, log=None) -> dict:
    say = log or (lambda message: None)
    with tempfile.TemporaryDirectory(prefix="renalmassai-batch-bench-") as folder:
        manifest = _cohort(Path(folder), tuple(size))
        result = {"benchmark": "batch", "cases": CASES, "size": list(size), "models": "bundled demo"}
        for workers in (1, 2):
            timing = _timed_batch(manifest, Path(folder), workers, repeats)
            seconds = timing["seconds"]  # median of the repeats
            result[f"workers_{workers}_seconds"] = seconds
            result[f"workers_{workers}_min_seconds"] = timing["min_seconds"]
            result[f"workers_{workers}_max_seconds"] = timing["max_seconds"]
            result[f"workers_{workers}_cases_per_hour"] = round(CASES * 3600 / seconds)
            say(f"{workers} worker(s): {seconds:.1f} s for {CASES} cases (median of {timing['repeats']})")
        result["repeats"] = timing["repeats"]
        result["speed_up_2_vs_1"] = round(result["workers_1_seconds"] / result["workers_2_seconds"], 2)
    return result


def _timed_batch(manifest: Path, folder: Path, workers: int, repeats: int) -> dict:
    outputs = (folder / f"out{workers}-{n}" for n in itertools.count())  # a fresh folder each time: no resuming
    settings = BatchSettings(threads=2 // workers)
    return repeated(lambda: run_batch(manifest, next(outputs), settings, workers, progress=False), repeats)[1]


def _cohort(folder: Path, size) -> Path:
    rows = []
    for number in range(CASES):
        phantom = make_phantom(PhantomSpec(size=size, spacing=(2.0, 2.0, 3.0), seed=3000 + number))
        paths = phantom.write(folder / f"c{number}")
        rows.append(case_row(f"c{number}", paths, phantom.pathology))
    return write_manifest(folder / "manifest.csv", rows)
