"""nnU-Net's network run by OpenVINO or ONNX Runtime inside nnU-Net's own sliding window.

Only the network's forward pass changes backend: nnU-Net's preprocessing, sliding window, Gaussian
weighting, mirroring and resampling stay nnU-Net's. The network is exported to ONNX once per fold
checkpoint and patch size, into $RENALMASSAI_CACHE/exported-networks (default
~/.cache/renalmassai), never into the user's model folder; the file is named by the checkpoint's
SHA-256, so a retrained checkpoint gets a new export. Both backends read that same file; OpenVINO also
keeps its compiled network in the sub-folder openvino-compiled. OpenVINO can also run it quantised to
INT8 (int8_network: NNCF, quantised once, cached beside the ONNX file).

Measured on 2 cores (README, "Benchmarks"): on an AVX2 CPU without native bfloat16 OpenVINO runs the
network in float32 1.7x as fast as PyTorch in float32 (ONNX Runtime 1.1x); on a CPU with AMX, OpenVINO
in bfloat16 5.7x, and INT8 only 1.1-1.2x faster than bfloat16 (2.7-2.9 s against 3.2 s per 128^3 pass,
machine under load), so INT8 stays an option (`int8`), not the default.
"""

import functools
import hashlib
import os
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from RenalMassAILib.errors import InputError

BACKENDS = ("torch", "openvino", "onnxruntime")
Runner = Callable[[np.ndarray], np.ndarray]  # one network input (1, C, *patch) -> its logits


def export_folder() -> Path:
    cache = os.environ.get("RENALMASSAI_CACHE") or Path.home() / ".cache" / "renalmassai"
    return Path(cache) / "exported-networks"


def auto_backend(device: torch.device) -> str:
    """OpenVINO on a CPU where it is installed (measured faster there), else PyTorch."""
    if device.type != "cpu":
        return "torch"
    try:
        import openvino  # noqa: F401
    except ImportError:
        return "torch"
    return "openvino"


def use_exported_network(predictor, model, backend: str, bf16: bool, threads: int, int8: bool = False) -> dict:
    """Replaces `predictor.network` by the exported network run with `backend` (int8: OpenVINO's INT8
    model); returns what ran (backend, precision, the ONNX or IR files run), for the segmentation record, with the
    seconds spent quantising when that happened now."""
    if backend not in BACKENDS[1:]:
        raise ValueError(f"backend must be one of {BACKENDS[1:]}, not {backend!r}")
    paths = _exported_onnx(predictor, model)
    record = {}
    if int8:
        paths, record = _int8_networks(predictor, model, paths)
    if backend == "openvino":
        runners, precision = zip(*(openvino_runner(p, bf16, threads) for p in paths))
        if int8:  # the layers NNCF left unquantised run in the precision the hint gave
            record["unquantised_precision"] = precision[0]
        precision = "int8" if int8 else precision[0]
    else:
        runners, precision = [onnxruntime_runner(p, threads) for p in paths], "f32"
    predictor.network = ExportedNetwork(list(runners), predictor.list_of_parameters)
    return {"backend": backend, "precision": precision, "exported": [p.name for p in paths], **record}


def _exported_onnx(predictor, model) -> list[Path]:
    """Each fold's ONNX export, made now where it is not in the export folder yet."""
    patch = tuple(int(n) for n in predictor.configuration_manager.patch_size)
    channels = len(model.channels)
    paths = []
    for fold, parameters in zip(model.folds, predictor.list_of_parameters):
        checkpoint = model.folder / f"fold_{fold}" / model.checkpoint
        path = export_folder() / f"{_sha256(checkpoint)}-{'x'.join(map(str, patch))}-{channels}ch.onnx"
        if not path.exists():
            predictor.network.load_state_dict(parameters)
            export_onnx(predictor.network, (1, channels, *patch), path)
        paths.append(path)
    return paths


def _int8_networks(predictor, model, onnx_paths: list[Path]) -> tuple[list[Path], dict]:
    """Each fold's INT8 IR (quantised now where not cached); the calibration patches are made at most
    once, and only when some fold needs quantising."""
    from RenalMassAILib.lesion.int8_network import calibration_patches, quantised_network

    patches = functools.cache(lambda: calibration_patches(predictor, model))
    paths, seconds = zip(*(quantised_network(p, patches) for p in onnx_paths))
    made = [s for s in seconds if s is not None]
    return list(paths), ({"quantisation_seconds": round(sum(made), 1)} if made else {})


def export_onnx(network: torch.nn.Module, shape: tuple[int, ...], path: Path) -> None:
    """The network in eval mode as ONNX with a fixed input shape (nnU-Net always passes one patch)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial.onnx")
    network = network.eval()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(
                network, (torch.zeros(shape),), str(partial), input_names=["image"], output_names=["logits"],
                opset_version=17, dynamo=False,
            )  # fmt: skip
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)


def openvino_runner(path: Path, bf16: bool, threads: int) -> tuple[Runner, str]:
    """An OpenVINO CPU runner of an ONNX or IR file and the precision it really uses for what is not
    quantised: a bfloat16 hint is honoured only on a CPU with native bfloat16, elsewhere OpenVINO stays
    in float32."""
    try:
        import openvino
    except ImportError:
        raise InputError("backend 'openvino': OpenVINO is not installed; pip install openvino") from None
    core = openvino.Core()
    config = {"INFERENCE_PRECISION_HINT": "bf16" if bf16 else "f32", "INFERENCE_NUM_THREADS": threads}
    try:
        # OpenVINO keeps the compiled network there, keyed by the file, the settings and its own version:
        # given the path (not a read model), a later run imports it instead of compiling (0.4 s instead of
        # 0.8 s for the KiTS-shaped network, 120 MB in bfloat16)
        cache = {"CACHE_DIR": str(export_folder() / "openvino-compiled")}
        compiled = core.compile_model(str(path), "CPU", config | cache)
    except RuntimeError:  # the cache unusable (full disk, a blob another process is writing): compile as usual
        compiled = openvino.Core().compile_model(str(path), "CPU", config)
    request = compiled.create_infer_request()
    precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()  # 'f32' or 'bf16'
    return (lambda x: request.infer({0: x})[0].copy()), precision


def onnxruntime_runner(path: Path, threads: int) -> Runner:
    try:
        import onnxruntime
    except ImportError:
        raise InputError("backend 'onnxruntime': ONNX Runtime is not installed; pip install onnxruntime") from None
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return lambda x: session.run(None, {"image": x})[0]


class ExportedNetwork(torch.nn.Module):
    """Stands in for nnU-Net's network: runs the exported network of the fold whose parameters nnU-Net
    loaded last (nnU-Net loads each fold's parameters before its sliding window)."""

    def __init__(self, runners: list[Runner], fold_parameters: list[dict]):
        super().__init__()
        self.runners = runners
        self.fold_parameters = fold_parameters
        self.fold = 0

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self.fold = next(i for i, p in enumerate(self.fold_parameters) if p is state_dict)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        output = self.runners[self.fold](np.ascontiguousarray(x.detach().float().cpu().numpy()))
        return torch.from_numpy(output).to(x.device)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
