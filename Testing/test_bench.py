"""Benchmarks report what a user gets: every timed step honours --repeats (median, min, max), and
cached bench inputs are keyed by everything that made them."""

import json
import os
import time

from RenalMassAILib.bench import batch_speed, bench_case, registration_speed
from RenalMassAILib.bench.machine import FLAGS_OF_INTEREST
from RenalMassAILib.bench.repeated import repeated
from RenalMassAILib.cli import main as renalmassai


def test_repeated_times_every_call_and_reports_median_min_max():
    ticks = iter([0.0, 1.0, 10.0, 13.0, 20.0, 22.0])  # calls of 1, 3 and 2 s
    calls = []
    result, timing = repeated(lambda: calls.append(len(calls)) or len(calls), 3, clock=lambda: next(ticks))
    assert calls == [0, 1, 2] and result == 3
    assert timing == {"seconds": 2.0, "min_seconds": 1.0, "max_seconds": 3.0, "repeats": 3}
    assert repeated(lambda: None, 0)[1]["repeats"] == 1  # at least once


def test_registration_bench_runs_each_registration_repeats_times(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("RENALMASSAI_CACHE", str(tmp_path))
    real, calls = registration_speed.register_rigid, []

    def counted(*args, **kwargs):
        calls.append(kwargs.get("region_mm"))
        return real(*args, **kwargs)

    monkeypatch.setattr(registration_speed, "register_rigid", counted)
    assert renalmassai(["bench", "registration", "--size", "128", "128", "32", "--repeats", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(calls) == 8  # N and V, VOI and whole volume, twice each
    assert result["repeats"] == 2
    for key in ("voi_N", "voi_V", "whole_N", "whole_V"):
        assert result[f"{key}_min_seconds"] <= result[f"{key}_seconds"] <= result[f"{key}_max_seconds"]
        assert result[f"{key}_error_at_lesion_mm"] < 1.0  # still a registration, not only a timer
    machine = result["machine"]  # what the figures were measured on
    assert machine["logical_cores"] == os.cpu_count() and isinstance(machine["native_bf16"], bool)
    assert machine["cpu"] and set(machine["cpu_flags"]) <= set(FLAGS_OF_INTEREST)


def test_batch_bench_repeats_into_fresh_folders_so_nothing_is_resumed(tmp_path, monkeypatch):
    folders = []

    def run_batch(manifest, out, *settings, **options):
        time.sleep(0.02)
        folders.append(out)

    monkeypatch.setattr(batch_speed, "run_batch", run_batch)
    monkeypatch.setattr(batch_speed, "CASES", 2)
    result = batch_speed.run(size=(64, 64, 16), repeats=2)
    assert len(folders) == 4 and len(set(folders)) == 4  # 1 and 2 workers, twice each, never the same folder
    assert result["repeats"] == 2 and result["workers_2_min_seconds"] <= result["workers_2_max_seconds"]


def test_bench_case_cache_is_keyed_by_the_phantom_and_the_software_version(tmp_path, monkeypatch):
    monkeypatch.setenv("RENALMASSAI_CACHE", str(tmp_path))
    paths, phantom = bench_case.bench_case((96, 96, 24))
    assert phantom is not None and paths["arterial"].is_relative_to(tmp_path / "bench")
    again, cached = bench_case.bench_case((96, 96, 24))
    assert again == paths and cached is None  # read back, not made again
    other, _ = bench_case.bench_case((96, 96, 28))
    assert other["arterial"].parent != paths["arterial"].parent
    key = bench_case.cache_key({"seed": 7})
    assert bench_case.cache_key({"seed": 8}) != key
    monkeypatch.setattr(bench_case, "__version__", "0.0.0-other")
    assert bench_case.cache_key({"seed": 7}) != key  # a changed generator makes a new case


def _fake_segmentation(calls):
    """Stands in for segment(): records the options, returns what the bench reads."""
    from RenalMassAILib.lesion.segmentation import SegmentationResult

    def segment(case, model, point, options):
        calls.append((point is not None, options))
        return SegmentationResult(None, {}, 1, 8, 0.0, 0, (), {}, False, {"backend": "fake"})

    return segment


def test_segmentation_bench_paths_on_the_cpu_include_int8_and_honour_repeats(tmp_path, monkeypatch):
    import torch

    from RenalMassAILib.bench import segmentation_speed

    monkeypatch.setenv("RENALMASSAI_CACHE", str(tmp_path))
    calls = []
    monkeypatch.setattr(segmentation_speed, "segment", _fake_segmentation(calls))
    monkeypatch.setattr(segmentation_speed, "nnunet_predictor", lambda *args, **kwargs: None)
    result = segmentation_speed.run(size=(320, 320, 60), repeats=2, device="cpu", parts=("paths",))
    rows = [name for name, *_ in segmentation_speed._path_options(torch.device("cpu"))]
    assert rows[:2] == ["point_default_options", "no_point_default_options"]  # the default options first
    assert {"point_default_options_int8", "no_point_default_options_int8"} <= set(rows)
    assert "whole_volume_default" not in rows  # hours on 2 cores: projected from one pass instead
    assert len(calls) == 2 * len(rows)  # every path twice
    assert [options.int8 for _, options in calls[-4:]] == [True] * 4 and all(o.device == "cpu" for _, o in calls)
    assert result["device"] == "cpu" and result["parts"] == ["paths"] and result["repeats"] == 2
    assert "seconds_per_pass" not in result and "agreement" not in result  # only the part asked for
    for name in rows:
        assert result[name]["repeats"] == 2 and result[name]["min_seconds"] <= result[name]["max_seconds"]


def test_segmentation_bench_on_a_gpu_times_nnunets_whole_volume_default_path_there():
    import torch

    from RenalMassAILib.bench import segmentation_speed

    rows = {name: options for name, _, options in segmentation_speed._path_options(torch.device("cuda"))}
    assert rows["point_default_options"].device == "cuda"
    whole = rows["whole_volume_default"]
    assert (whole.fast, whole.mirroring, whole.tile_step_size) == (False, True, 0.5)  # nnU-Net's own defaults
    assert whole.device == "cuda"
    assert not any(options.int8 for options in rows.values())  # OpenVINO INT8 is CPU-only


def test_segmentation_bench_device_cuda_without_a_gpu_and_options_of_other_benches_are_refused(monkeypatch, capsys):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on this project's machines
    assert renalmassai(["bench", "segmentation", "--device", "cuda", "--json"]) != 0
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--device cuda" in error[0] and "no CUDA GPU" in error[0]
    assert renalmassai(["bench", "prepare", "--only", "paths"]) != 0
    assert "apply to `bench segmentation` only" in capsys.readouterr().err


def test_the_default_path_runs_around_a_stand_in_network_with_every_tile_and_mirror_and_projects(monkeypatch):
    import torch

    from conftest import phantom
    from RenalMassAILib.bench import default_path_projection
    from RenalMassAILib.lesion.nnunet_model import open_segmentation_model
    from RenalMassAILib.lesion.nnunet_predictor import nnunet_predictor
    from RenalMassAILib.resources import demo_segmentation_model

    case = phantom(seed=3, size=(96, 96, 30), spacing=(2.5, 2.5, 4.0)).case()
    model = open_segmentation_model(demo_segmentation_model(), case.phases)
    calls = []
    forward = default_path_projection.ZeroNetwork.forward
    monkeypatch.setattr(
        default_path_projection.ZeroNetwork, "forward", lambda self, x: calls.append(1) or forward(self, x)
    )
    around = default_path_projection.without_network(case, model, repeats=2)

    # nnU-Net's own count of tiles at its spacing, with all mirrors of the model
    predictor = nnunet_predictor(model, True, 0.5, False, torch.device("cpu"), lambda *args: None)
    spacing = predictor.configuration_manager.spacing
    image = case.reference
    shape = [round(n * s / t) for n, s, t in zip(image.GetSize()[::-1], image.GetSpacing()[::-1], spacing)]
    tiles = len(predictor._internal_get_sliding_window_slicers(shape))
    mirrors = 2 ** len(predictor.allowed_mirroring_axes)
    assert tiles > 1 and mirrors == 8
    assert around["forward_passes"] == tiles * mirrors and len(calls) == 2 * tiles * mirrors  # only the stand-in ran
    assert around["repeats"] == 2 and 0 < around["min_seconds"] <= around["max_seconds"]

    row = default_path_projection.projected({**around, "seconds": 12.0, "forward_passes": 100}, 2.5)
    assert (row["seconds"], row["network_seconds"], row["around_network_seconds"]) == (262, 250, 12.0)
