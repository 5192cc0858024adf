"""One 128^3 pass of an exported nnU-Net network in OpenVINO (float32, bf16 hint, INT8, INT8 with the bf16
hint), median of 3 after a warm-up, in whatever instruction set oneDNN is allowed: run it under
ONEDNN_MAX_CPU_ISA=AVX2 (or AVX2_VNNI) to see how a CPU without AVX-512 / AMX would rank the precisions.
An emulation on the same cores: compare ratios, not seconds.

    ONEDNN_MAX_CPU_ISA=AVX2 .venv/bin/python scripts/openvino_pass_by_isa.py NETWORK.onnx NETWORK-int8.xml

The files are the cached exports of the KiTS-sized bench model (`renalmassai bench segmentation` names
them in the `exported` field of each path's `backend`; `--int8` makes the INT8 file).
"""

import os
import statistics
import sys
import time

import numpy as np
import openvino


def seconds_per_pass(core, path: str, hint: str, image: np.ndarray) -> tuple[str, float]:
    config = {"INFERENCE_PRECISION_HINT": hint, "INFERENCE_NUM_THREADS": 2}
    compiled = core.compile_model(core.read_model(path), "CPU", config)
    request = compiled.create_infer_request()
    request.infer({0: image})  # warm-up
    times = []
    for _ in range(3):
        start = time.perf_counter()
        request.infer({0: image})
        times.append(time.perf_counter() - start)
    return compiled.get_property("INFERENCE_PRECISION_HINT").to_string(), statistics.median(times)


def main(onnx_path: str, int8_path: str) -> None:
    core = openvino.Core()
    image = np.random.default_rng(0).normal(size=(1, 1, 128, 128, 128)).astype(np.float32)
    print(f"ONEDNN_MAX_CPU_ISA={os.environ.get('ONEDNN_MAX_CPU_ISA', '(not set)')}")
    for name, path, hint in (
        ("fp32", onnx_path, "f32"),
        ("bf16 hint", onnx_path, "bf16"),
        ("int8", int8_path, "f32"),
        ("int8, bf16 hint", int8_path, "bf16"),
    ):
        try:
            precision, seconds = seconds_per_pass(core, path, hint, image)
        except RuntimeError as error:  # e.g. bf16 under an AVX2 cap: OpenVINO picks bf16, oneDNN cannot run it
            print(f"{name}: does not compile here ({str(error).strip().splitlines()[-1][:120]})")
            continue
        print(f"{name}: ran in {precision}, {seconds:.2f} s per pass (median of 3)")


if __name__ == "__main__":
    main(*sys.argv[1:3])
