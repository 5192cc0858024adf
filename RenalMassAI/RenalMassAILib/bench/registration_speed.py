"""Time and accuracy of rigid registration of N and V onto A, in the VOI and on the whole volume."""

import numpy as np

from RenalMassAILib.bench.bench_case import bench_case
from RenalMassAILib.bench.repeated import seconds_summary
from RenalMassAILib.case.alignment import VOI_MM
from RenalMassAILib.case.loading import load_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.registration import register_rigid


def run(size=(512, 512, 120), repeats: int = 1, log=None) -> dict:
    paths, phantom = bench_case(size, misregistration_mm=4.0, log=log)
    case = load_case(
        {Phase.NON_CONTRAST: paths["non-contrast"], Phase.ARTERIAL: paths["arterial"], Phase.VENOUS: paths["venous"]}
    )
    center = np.asarray(phantom.lesion_center_lps)
    result = {
        "benchmark": "registration",
        "size": list(size),
        "true_misregistration": "up to 4 mm shift and 2 degrees rotation per phase",
        "repeats": max(repeats, 1),
    }
    for region_name, region in (("voi", VOI_MM), ("whole", None)):
        for phase in (Phase.NON_CONTRAST, Phase.VENOUS):
            fits = [
                register_rigid(case.reference, case.images[phase], center_lps=center, region_mm=region)
                for _ in range(max(repeats, 1))
            ]
            fit, timing = fits[-1], seconds_summary([f.seconds for f in fits])
            truth = np.asarray(phantom.phase_transforms[phase].TransformPoint(center.tolist()))
            error = float(np.linalg.norm(np.asarray(fit.transform.TransformPoint(center.tolist())) - truth))
            before = float(np.linalg.norm(truth - center))
            key = f"{region_name}_{phase.value}"
            result[f"{key}_seconds"] = timing["seconds"]  # median of the repeats
            result[f"{key}_min_seconds"], result[f"{key}_max_seconds"] = timing["min_seconds"], timing["max_seconds"]
            result[f"{key}_error_at_lesion_mm"] = round(error, 3)
            result[f"{key}_error_before_mm"] = round(before, 3)
            result[f"{key}_correlation_after"] = round(fit.correlation_after, 4)
            if log:
                log(f"{key}: {timing['seconds']:.1f} s, lesion-center error {before:.2f} -> {error:.2f} mm")
    return result
