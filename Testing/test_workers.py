"""Worker processes: the persistent analysis worker and its client, and ending process trees.

Real processes throughout: the worker runs the real engine with the bundled demo model on a phantom
made here; process trees are real child and grandchild processes, checked with psutil.
"""

import subprocess
import sys
import time
import types

import numpy as np
import psutil
import pytest

from conftest import phantom
from RenalMassAILib.classify.preprocessing import preset
from RenalMassAILib.errors import InputError
from RenalMassAILib.lesion.label_map import to_label_map
from RenalMassAILib.pipeline import Analyzer
from RenalMassAILib.prepare import prepare_case
from RenalMassAILib.scene.refresh import CenterRefresher
from RenalMassAILib.workers import process_tree
from RenalMassAILib.workers.analysis_client import AnalysisClient
from RenalMassAILib.workers.worker_error import WorkerError

START_SECONDS = 180  # worker start (imports + model load) on a busy 2-core machine, plus one analysis


@pytest.fixture(scope="module", autouse=True)
def log_folder(tmp_path_factory):
    """Worker logs go to a folder of the test's own, not the user's log folder."""
    with pytest.MonkeyPatch.context() as patch:
        folder = tmp_path_factory.mktemp("logs")
        patch.setenv(process_tree.LOGS_ENV, str(folder))
        yield folder


@pytest.fixture(scope="module")
def analyzer():
    p = phantom(seed=11, size=(128, 128, 48), spacing=(2.2, 2.2, 3.0), side="left", pole="mid")
    case = p.case("worker-test")
    # As if a demo segmentation model had drawn the map: its DEMO mark and warning must cross the process boundary.
    record = {"model": {"id": "demo-seg", "demo": True}, "warnings": ["demo segmentation model on a foreign image"]}
    return Analyzer(
        prepare_case(case, preset("authors-code"), to_label_map(p.labels, case.reference), segmentation=record)
    )


@pytest.fixture(scope="module")
def client(analyzer, log_folder):
    with AnalysisClient(analyzer) as started:
        started.request(None)
        started.wait_idle(START_SECONDS)
        started.take_finished()
        yield started


def _worker_of(client_or_refresher) -> psutil.Process:
    process = getattr(client_or_refresher, "client", client_or_refresher).process
    return psutil.Process(process.pid)


def test_the_worker_answers_a_move_as_the_engine_does_in_process(client, analyzer):
    center = np.add(analyzer.prepared.center_lps, (3.0, -2.0, 0.0))
    client.request(center)
    assert client.busy
    client.wait_idle(60)
    [analysis] = client.take_finished()
    direct = analyzer.run(center)
    assert analysis.center_source == "user"
    np.testing.assert_allclose(analysis.center_lps, center)
    assert analysis.segmentation_demo and direct.segmentation_demo
    assert analysis.warnings == direct.warnings == ("demo segmentation model on a foreign image",)
    assert set(analysis.predictions) == {"malignancy", "aggressiveness"}
    for task, prediction in analysis.predictions.items():
        assert prediction.probability == pytest.approx(direct.predictions[task].probability, abs=1e-5)
        assert prediction.phases_used == direct.predictions[task].phases_used == ("N", "A", "V")
        assert (prediction.model_id, prediction.demo) == (direct.predictions[task].model_id, True)
    for task, maps in direct.explanations.items():  # six Grad-CAM maps: two tasks x three phases
        assert set(analysis.explanations[task]) == set(maps) == {"N", "A", "V"}
        for phase, heat in maps.items():
            np.testing.assert_allclose(analysis.explanations[task][phase], heat, atol=1e-5)
    assert max(heat.max() for maps in analysis.explanations.values() for heat in maps.values()) > 0.5
    for name, model_input in direct.model_inputs.items():
        assert analysis.model_inputs[name].geometry == model_input.geometry
        assert analysis.model_inputs[name].preprocessing == model_input.preprocessing
        for phase, patch in model_input.patches.items():
            np.testing.assert_array_equal(analysis.model_inputs[name].patches[phase], patch)
    assert analysis.inputs_of_task == direct.inputs_of_task
    assert not any((client.temporary / "results").iterdir())  # each answer's arrays are removed once read


def test_many_moves_are_coalesced_and_the_last_center_wins(client, analyzer):
    before = client.analyses
    centers = [np.add(analyzer.prepared.center_lps, (float(k), 0.0, 0.0)) for k in range(6)]
    for center in centers:
        client.request(center)  # a drag: moves arrive faster than analyses finish
    client.wait_idle(60)
    finished = client.take_finished()
    assert client.analyses - before < len(centers)
    assert 1 <= len(finished) < len(centers)
    np.testing.assert_allclose(finished[-1].center_lps, centers[-1])
    assert finished[-1].predictions["malignancy"].probability == pytest.approx(
        analyzer.run(centers[-1]).predictions["malignancy"].probability, abs=1e-5
    )


def test_close_leaves_no_process_and_no_temporary_folder(client):
    worker = _worker_of(client)
    tree = [worker, *worker.children(recursive=True)]
    assert (client.temporary / "case.json").exists() and (client.temporary / "phase-A.nrrd").exists()
    client.close()
    assert not any(member.is_running() and member.status() != psutil.STATUS_ZOMBIE for member in tree)
    assert client.process.poll() is not None
    assert not client.temporary.exists()
    # No analysis worker left under this test process (other tests may leave unrelated helpers, e.g. Dask's).
    assert not [
        child for child in psutil.Process().children(recursive=True) if "analysis_worker" in " ".join(child.cmdline())
    ]


def test_a_worker_that_dies_gives_a_clear_error_with_its_log(analyzer, log_folder):
    results = []
    refresher = CenterRefresher(analyzer, results.append)
    try:
        worker = _worker_of(refresher)
        refresher.request(None)
        deadline = time.monotonic() + START_SECONDS
        while refresher.client.ready is None and time.monotonic() < deadline:
            refresher.apply_finished()
            time.sleep(0.05)
        refresher.request(np.add(analyzer.prepared.center_lps, (2.0, 0.0, 0.0)))
        worker.kill()  # as the system's out-of-memory killer would
        start = time.monotonic()
        with pytest.raises(WorkerError) as raised:
            refresher.wait(60)
        assert time.monotonic() - start < 30  # not a hang
        message = str(raised.value)
        assert "analysis worker ended unexpectedly" in message and str(refresher.client.log_path) in message
        assert "exit status -9" in message
        assert raised.value.log_path.parent == log_folder and raised.value.log_path.exists()
        assert not refresher.busy
    finally:
        refresher.close()
    assert not refresher.client.temporary.exists()


def test_a_worker_that_cannot_load_the_models_says_so_and_ends(analyzer, tmp_path):
    missing = tmp_path / "removed-package"
    # The client chose a package that is gone by the time the worker loads it.
    chosen = types.SimpleNamespace(
        prepared=analyzer.prepared, runs=[(types.SimpleNamespace(path=missing), ("malignancy",), ("N", "A", "V"))]
    )
    client = AnalysisClient(chosen)
    try:
        client.request(None)
        client.wait_idle(START_SECONDS)
        [outcome] = client.take_finished()
        assert isinstance(outcome, InputError)
        assert "could not load the case" in str(outcome) and str(missing) in str(outcome)
        assert client.process.poll() is not None and not client.busy
    finally:
        client.close()
    assert not client.temporary.exists()


GRANDCHILD = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_ending_a_process_tree_ends_the_grandchild_too():
    child = subprocess.Popen([sys.executable, "-c", GRANDCHILD], stdout=subprocess.PIPE, text=True)
    grandchild = psutil.Process(int(child.stdout.readline()))
    assert grandchild.ppid() == child.pid
    start = time.monotonic()
    process_tree.end_process_tree(child, grace_seconds=5.0)
    child.stdout.close()
    assert child.returncode is not None
    assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
    assert time.monotonic() - start < 5.0  # terminate sufficed: no wait for the grace period


def test_worker_python_is_this_interpreter_outside_slicer_and_logs_are_kept_bounded(log_folder):
    assert process_tree.worker_python() == sys.executable
    assert process_tree.worker_python("/opt/PythonSlicer") == "/opt/PythonSlicer"
    paths = []
    for _ in range(process_tree.KEEP_LOGS + 3):
        paths.append(process_tree.new_log_path("unit"))
        paths[-1].write_text("x")
    kept = sorted(log_folder.glob("unit-*.log"))
    assert len(kept) == process_tree.KEEP_LOGS and paths[-1] in kept and paths[0] not in kept
