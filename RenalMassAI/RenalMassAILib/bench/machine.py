"""What machine a benchmark ran on: CPU model, cores, and the instruction sets that decide which
precision runs fast (timings on an AVX2-only CPU and on one with AMX differ by up to 4x)."""

import os
import platform
from pathlib import Path

import torch

from RenalMassAILib.lesion.nnunet_predictor import cpu_runs_bf16_natively

FLAGS_OF_INTEREST = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_int8", "avx_vnni", "avx512_vnni")


def machine_record() -> dict:
    """CPU model, logical cores, native bfloat16 in PyTorch, the relevant CPU flags, and the GPU if any."""
    model, flags = _cpuinfo()
    return {
        "cpu": model or platform.processor() or platform.machine(),
        "logical_cores": os.cpu_count(),
        "native_bf16": cpu_runs_bf16_natively(),
        "cpu_flags": [flag for flag in FLAGS_OF_INTEREST if flag in flags],
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }


def _cpuinfo() -> tuple[str, set[str]]:
    """Model name and flags from /proc/cpuinfo (Linux); empty elsewhere."""
    model, flags = "", set()
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, flags
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and not model:
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    return model, flags
