"""What a radiologist waits for after moving the tumor center: new inputs, both probabilities and
every Grad-CAM map (bundled demo case, three phases, installed/bundled models). Measured twice: the
engine alone (in this process), and through the analysis worker process as the Slicer module runs it
(fiducial moved in a slicer-core scene -> request -> worker -> answer read back -> heat-map volumes
and results table updated), with the worker's start-up (process start, imports, case and model
load) timed on its own."""

import statistics
import time

import numpy as np
import torch

from RenalMassAILib.case.loading import load_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.prepare import prepare_case
from RenalMassAILib.resources import demo_case_dir


def run(size=None, repeats: int = 20, log=None) -> dict:
    folder = demo_case_dir()
    case = load_case(
        {
            Phase.NON_CONTRAST: folder / "non-contrast.nii.gz",
            Phase.ARTERIAL: folder / "arterial.nii.gz",
            Phase.VENOUS: folder / "venous.nii.gz",
        },
        "demo",
    )
    prepared = prepare_case(
        case, preset("authors-code"), read_label_map(folder / "segmentation.nii.gz", case.reference)
    )
    analyzer = Analyzer(prepared)
    analyzer.run()  # warm-up: first calls allocate
    offsets = np.random.default_rng(0).uniform(-4, 4, size=(max(repeats, 1), 3))
    times = []
    for offset in offsets:
        start = time.perf_counter()
        analyzer.run(np.asarray(prepared.center_lps) + offset)
        times.append((time.perf_counter() - start) * 1000)
        if log:
            log(f"refresh: {times[-1]:.0f} ms")
    worker = _worker_refresh(prepared, analyzer, offsets, log)
    return {
        "benchmark": "refresh",
        "phases": 3,
        "threads": torch.get_num_threads(),
        "repeats": len(times),
        "models": sorted({f"{p.card.id} {p.card.version}" for p, _, _ in analyzer.runs}),
        "median_ms": round(statistics.median(times), 1),
        "p90_ms": round(float(np.percentile(times, 90)), 1),
        **worker,
    }


def _worker_refresh(prepared, analyzer, offsets, log) -> dict:
    from RenalMassAILib.present.coordinates import lps_to_ras
    from RenalMassAILib.scene import markers
    from RenalMassAILib.scene.case_scene import CaseScene
    from RenalMassAILib.scene.scene_app import SceneApp

    app = SceneApp.create()
    started = time.perf_counter()
    case_scene = CaseScene(app.scene, prepared, analyzer)  # writes the case, starts the worker
    client = case_scene.refresher.client
    try:
        while client.ready is None and client.failure is None and time.perf_counter() - started < 300:
            client.poll(1.0)
        case_scene.analyze()  # the first analysis: allocations, as the engine's warm-up
        first = time.perf_counter() - started
        times, worker_times = [], []
        for offset in offsets:
            start = time.perf_counter()
            markers.move_center(case_scene.nodes.center, lps_to_ras(np.asarray(prepared.center_lps) + offset))
            case_scene.refresher.wait()
            times.append((time.perf_counter() - start) * 1000)
            worker_times.append(client.last_worker_seconds * 1000)
            if log:
                log(f"refresh through the worker process: {times[-1]:.0f} ms (worker {worker_times[-1]:.0f} ms)")
        ready = client.ready
        return {
            "worker_median_ms": round(statistics.median(times), 1),
            "worker_p90_ms": round(float(np.percentile(times, 90)), 1),
            "worker_own_median_ms": round(statistics.median(worker_times), 1),
            "worker_start_s": round(client.ready_seconds, 2),
            "worker_import_s": ready["import_seconds"],
            "worker_load_s": ready["load_seconds"],
            "worker_first_analysis_s": round(first, 2),
        }
    finally:
        case_scene.close()
