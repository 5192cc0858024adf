"""nnU-Net v2's own predictor, with step progress, bfloat16 autocast on CPUs that run it natively,
test-time mirroring within a budget of network evaluations, and the network's passes in PyTorch,
OpenVINO or ONNX Runtime (exported_network)."""

import contextlib
import sys
from collections.abc import Callable

import torch

from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.exported_network import auto_backend, use_exported_network
from RenalMassAILib.lesion.nnunet_checkpoint import initialize_predictor
from RenalMassAILib.lesion.nnunet_model import SegmentationModel
from RenalMassAILib.lesion.nnunet_resampling import use_fast_resampling

# Auto mirroring: per box at most this many network evaluations (tiles x mirrors). One patch gets all 8
# mirrors; a box of two tiles 4 (two axes), of three or four tiles 2 (one axis), of more none.
MIRROR_BUDGET = 8

Progress = Callable[[str, int, int, str], None]  # stage, step, steps, message


def cpu_runs_bf16_natively() -> bool:
    """Whether PyTorch's CPU kernels have native bfloat16 (AVX-512 BF16, AMX). Without it bf16 autocast
    is not a speed-up but a disaster: one 64^3 pass of the KiTS-sized network took 467 s under
    autocast against 2.3 s in float32 on this project's AVX2 CPU (torch 2.14)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a private check: if it moves, stay in float32
        return False


def mirror_axes_within_budget(allowed_axes, tiles: int, budget: int = MIRROR_BUDGET) -> tuple[int, ...]:
    """The most mirror axes such that tiles x 2^axes <= budget; the network's last (in-plane) axes first."""
    preferred = sorted(allowed_axes or (), reverse=True)
    count = 0
    while count < len(preferred) and tiles * 2 ** (count + 1) <= budget:
        count += 1
    return tuple(sorted(preferred[:count]))


def nnunet_predictor(
    model: SegmentationModel,
    mirroring: bool | None,
    tile_step_size: float,
    bf16: bool,
    device: torch.device,
    report: Progress,
    backend: str = "torch",
    int8: bool = False,
):
    """mirroring: True all of the model's axes, False none, None (auto) as many as MIRROR_BUDGET allows.
    backend: 'torch', 'openvino', 'onnxruntime' or 'auto' (exported_network.auto_backend); what ran is
    in the predictor's `backend_record`. bf16: autocast in PyTorch where the CPU runs bfloat16 natively
    (float32 elsewhere), the precision hint in OpenVINO (which also keeps float32 without it). int8:
    OpenVINO's INT8 model (int8_network; bf16 then hints the layers left unquantised), an InputError with
    another backend."""
    backend = auto_backend(device) if backend == "auto" else backend
    if int8 and backend != "openvino":
        raise InputError(f"precision int8 runs in OpenVINO on the CPU only, not in {backend!r}")
    if backend != "torch" and device.type != "cpu":
        raise InputError(f"backend {backend!r} runs on the CPU only: use --backend torch with --device {device.type}")
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor

    autocast = backend == "torch" and bf16 and device.type == "cpu" and cpu_runs_bf16_natively()

    class ReportingPredictor(nnUNetPredictor):
        evaluations = 0  # network passes run, mirrors included (a pass on an input already seen is not rerun)
        steps_total = 0
        probe = False  # set by the caller: one pass per tile, no mirrors (a quick look, e.g. to decide growth)
        would_mirror = False  # after a probe: whether the same region without `probe` would use mirrors
        seen: list  # (input, output) of the passes of the last probe; forget_probe() empties it

        def _internal_get_sliding_window_slicers(self, image_size):
            slicers = super()._internal_get_sliding_window_slicers(image_size)
            self.steps_total, self.region_steps = len(slicers), 0
            if mirroring is None:
                self.allowed_mirroring_axes = mirror_axes_within_budget(self.model_mirror_axes, len(slicers))
            self.would_mirror = bool(self.allowed_mirroring_axes) and mirroring is not False
            self.use_mirroring = self.would_mirror and not self.probe
            return slicers

        def _internal_maybe_mirror_and_predict(self, x):
            # nnU-Net's mirroring calls self.network once per mirror; during this call it goes through
            # _pass, so that the unmirrored pass of a probed tile is not run a second time
            network = self.network
            self.network = lambda tensor: self._pass(network, tensor)
            try:
                with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
                    prediction = super()._internal_maybe_mirror_and_predict(x)
            finally:
                self.network = network
            self.region_steps += 1
            report("predict", self.region_steps, self.steps_total, "sliding window")
            return prediction.float()

        def _pass(self, network, tensor):
            """The network's output; a probe's stored output for an input equal to the probed one (the same
            input gives the same output, so the result is unchanged)."""
            for seen_input, seen_output in self.seen:
                if seen_input.shape == tensor.shape and torch.equal(seen_input, tensor):
                    return seen_output.clone()
            output = network(tensor)
            self.evaluations += 1
            if self.probe and self.would_mirror:  # only a box that would mirror runs these inputs again
                self.seen.append((tensor.clone(), output.clone()))
            return output

        def forget_probe(self):
            self.seen = []

    with contextlib.redirect_stdout(sys.stderr):  # nnU-Net prints a notice on every CPU predictor; stdout is for data
        predictor = ReportingPredictor(
            tile_step_size=tile_step_size,
            use_gaussian=True,
            use_mirroring=mirroring is not False,
            perform_everything_on_device=device.type == "cuda",
            device=device,
            verbose=False,
            verbose_preprocessing=False,
            allow_tqdm=False,
        )
    predictor.forget_probe()
    report("load", 0, 1, f"loading {model.folder.name}")
    initialize_predictor(predictor, model.folder, model.folds, model.checkpoint)  # weights_only, unlike nnU-Net's own
    use_fast_resampling(predictor)  # same result as nnU-Net's resampling, 10-20x faster along thick slices
    predictor.model_mirror_axes = tuple(predictor.allowed_mirroring_axes or ())
    # on CUDA nnU-Net runs its own float16 autocast
    precision = "bf16" if autocast else ("f16 autocast (nnU-Net)" if device.type == "cuda" else "f32")
    predictor.backend_record = {"backend": "torch", "precision": precision}
    if backend != "torch":
        made = "exported and quantised to INT8" if int8 else "exported"
        report("load", 0, 1, f"{backend}: loading the exported network ({made} once per checkpoint)")
        threads = torch.get_num_threads()
        predictor.backend_record = use_exported_network(predictor, model, backend, bf16, threads, int8)
    report("load", 1, 1, "model loaded")
    return predictor
