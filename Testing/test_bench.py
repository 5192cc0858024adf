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
