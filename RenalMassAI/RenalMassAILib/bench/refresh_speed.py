"""What a radiologist waits for after moving the tumour centre: new inputs, both probabilities and
every Grad-CAM map (bundled demo case, three phases, installed/bundled models). Measured twice: the
engine alone, and through the scene glue (fiducial moved -> worker thread -> heat-map volumes and
results table updated in a slicer-core scene)."""

import statistics
import time

import numpy as np
import torch

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.prepare import load_case, prepare_case
from RenalMassAILib.resources import demo_case_dir


def run(size=None, repeats: int = 20, log=None) -> dict:
    folder = demo_case_dir()
    case = load_case({Phase.NON_CONTRAST: folder / "non-contrast.nii.gz", Phase.ARTERIAL: folder / "arterial.nii.gz",
                      Phase.VENOUS: folder / "venous.nii.gz"}, "demo")
    prepared = prepare_case(case, preset("authors-code"), read_label_map(folder / "segmentation.nii.gz", case.reference))
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
    scene_times = _scene_refresh(prepared, analyzer, offsets, log)
    return {"benchmark": "refresh", "phases": 3, "threads": torch.get_num_threads(), "repeats": len(times),
            "models": sorted({f"{p.card.id} {p.card.version}" for p, _, _ in analyzer.runs}),
            "median_ms": round(statistics.median(times), 1), "p90_ms": round(float(np.percentile(times, 90)), 1),
            "scene_median_ms": round(statistics.median(scene_times), 1),
            "scene_p90_ms": round(float(np.percentile(scene_times, 90)), 1)}


def _scene_refresh(prepared, analyzer, offsets, log) -> list[float]:
    from RenalMassAILib.present.coordinates import lps_to_ras
    from RenalMassAILib.scene import markers
    from RenalMassAILib.scene.case_scene import CaseScene
    from RenalMassAILib.scene.scene_app import SceneApp

    app = SceneApp.create()
    case_scene = CaseScene(app.scene, prepared, analyzer)
    case_scene.analyze()
    times = []
    try:
        for offset in offsets:
            start = time.perf_counter()
            markers.move_center(case_scene.nodes.center, lps_to_ras(np.asarray(prepared.center_lps) + offset))
            case_scene.refresher.wait()
            times.append((time.perf_counter() - start) * 1000)
            if log:
                log(f"refresh through the scene: {times[-1]:.0f} ms")
    finally:
        case_scene.close()
    return times
