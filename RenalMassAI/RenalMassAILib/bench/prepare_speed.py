"""Time of `prepare` (read 3 phases + segmentation, validate, lesion, model inputs) on a large case."""

import statistics
import subprocess
import sys
import tempfile
import time

from RenalMassAILib.bench.bench_case import bench_case
from RenalMassAILib.case.loading import load_case
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.lesion.label_map import read_label_map
from RenalMassAILib.prepare import prepare_case


def run(size=(512, 512, 300), repeats: int = 3, log=None) -> dict:
    paths, _ = bench_case(size, log=log)
    stages = {"read_validate": [], "segmentation": [], "lesion_inputs": [], "total": [], "cli": []}
    for repeat in range(repeats):
        start = time.perf_counter()
        case = load_case(
            {
                Phase.NON_CONTRAST: paths["non-contrast"],
                Phase.ARTERIAL: paths["arterial"],
                Phase.VENOUS: paths["venous"],
            }
        )
        read = time.perf_counter()
        labels = read_label_map(paths["segmentation"], case.reference)
        segmented = time.perf_counter()
        prepare_case(case, preset("authors-code"), labels)
        end = time.perf_counter()
        for name, seconds in (
            ("read_validate", read - start),
            ("segmentation", segmented - read),
            ("lesion_inputs", end - segmented),
            ("total", end - start),
        ):
            stages[name].append(seconds)
        stages["cli"].append(_time_cli(paths))
        if log:
            log(f"run {repeat + 1}: engine {end - start:.2f} s, command line {stages['cli'][-1]:.2f} s")
    return {
        "benchmark": "prepare",
        "size": list(size),
        "phases": 3,
        "repeats": repeats,
        **{f"{name}_s_median": round(statistics.median(values), 3) for name, values in stages.items()},
    }


def _time_cli(paths) -> float:
    """The whole `renalmassai prepare` command: interpreter start, imports, reading, writing."""
    with tempfile.TemporaryDirectory() as out:
        command = [
            sys.executable,
            "-m",
            "RenalMassAILib",
            "prepare",
            "-N",
            str(paths["non-contrast"]),
            "-A",
            str(paths["arterial"]),
            "-V",
            str(paths["venous"]),
            "--segmentation",
            str(paths["segmentation"]),
            "--out",
            out,
        ]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        return time.perf_counter() - start
