"""Training on a few phantoms: the loss goes down, a loadable package comes out, a rerun resumes."""

import pytest
import torch
from sklearn.metrics import roc_auc_score

from conftest import csv_rows
from RenalMassAILib.classify.model_package import load_package
from RenalMassAILib.cohort.manifest import case_row, write_manifest
from RenalMassAILib.cohort.task_labels import task_label
from RenalMassAILib.cohort.training import TrainingConfig, _on_device, train
from RenalMassAILib.errors import InputError
from RenalMassAILib.phantom import PhantomSpec, make_phantom

SUBTYPES = ["ccRCC", "oncocytoma", "classic-AML", "papillary", "ccRCC", "chromophobe"]


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cohort")
    rows = []
    for number in range(16):
        subtype = SUBTYPES[number % len(SUBTYPES)]
        phantom = make_phantom(
            PhantomSpec(
                subtype=subtype,
                grade=1 + number % 4,
                size=(72, 72, 16),
                spacing=(4.0, 4.0, 6.0),
                seed=500 + number,
                noise_hu=5.0,
            )
        )
        paths = phantom.write(folder / f"c{number}")
        rows.append(case_row(f"c{number}", paths, phantom.pathology, split="val" if number % 4 == 3 else "train"))
    return write_manifest(folder / "manifest.csv", rows)


CONFIG = TrainingConfig(
    epochs=3,
    batch_size=6,
    learning_rate=1e-3,
    seed=3,
    augment=False,
    phase_dropout=0.0,
    tasks=("malignancy",),
    model_id="tiny",
    version="0.0.1",
)


def test_training_lowers_the_loss_and_writes_a_loadable_package(tmp_path, manifest):
    messages = []
    result = train(manifest, tmp_path / "package", CONFIG, log=messages.append, progress=False)
    losses = [h["loss"] for h in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    package = load_package(result.package)
    assert package.card.tasks == ("malignancy",) and package.card.id == "tiny"
    assert package.card.fields["training"]["data"]["train"]["cases"] == 12
    assert set(package.card.fields["validation"]["auc_by_phases"]) == {"N", "A", "V", "NA", "NV", "AV", "NAV"}
    scores = csv_rows(tmp_path / "package.training" / "validation_scores.csv")
    assert len(scores) == 4  # every validation case, not only the last
    labels = [task_label(r["class"], "malignancy") for r in scores]
    auc = roc_auc_score(labels, [float(r["probability_malignancy"]) for r in scores])
    assert auc == pytest.approx(package.card.fields["validation"]["auc"]["malignancy"], abs=1e-3)
    assert package.card.fields["training"]["device"] == "cpu"


def test_device_cuda_without_a_gpu_is_refused_in_one_line_before_any_case_is_read(tmp_path, capsys, monkeypatch):
    from RenalMassAILib.cli import main

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on this project's machines
    missing = tmp_path / "missing.csv"  # never read: the device is checked first
    assert main(["train", "--manifest", str(missing), "--out", str(tmp_path / "p"), "--device", "cuda"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--device cuda" in error[0] and "sees no CUDA GPU" in error[0]


def test_a_training_resumes_on_another_device_and_batches_follow_the_network(tmp_path, manifest):
    """The device is not a recipe setting: a checkpoint made with --device cpu resumes under auto."""
    two = TrainingConfig(**{**CONFIG.__dict__, "epochs": 2, "device": "cpu"})
    train(manifest, tmp_path / "package", two, checkpoint_dir=tmp_path / "state", progress=False, log=lambda m: None)
    messages = []
    auto = TrainingConfig(**{**CONFIG.__dict__, "device": "auto"})
    train(manifest, tmp_path / "package", auto, checkpoint_dir=tmp_path / "state", progress=False, log=messages.append)
    assert any("resuming after epoch 2" in m for m in messages)
    network = torch.nn.Linear(2, 2).to(torch.device("meta"))
    x, present = _on_device(network, torch.zeros(1, 2), torch.ones(1, 3, dtype=torch.bool))
    assert x.device.type == "meta" and present.device.type == "meta"


def test_training_resumes_where_it_stopped(tmp_path, manifest):
    two = TrainingConfig(**{**CONFIG.__dict__, "epochs": 2})
    train(manifest, tmp_path / "package", two, checkpoint_dir=tmp_path / "state", progress=False, log=lambda m: None)
    messages = []
    result = train(
        manifest, tmp_path / "package", CONFIG, checkpoint_dir=tmp_path / "state", progress=False, log=messages.append
    )
    assert any("resuming after epoch 2" in m for m in messages)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]
    other = TrainingConfig(**{**CONFIG.__dict__, "learning_rate": 1e-4})
    with pytest.raises(InputError, match="other training settings"):
        train(
            manifest, tmp_path / "package", other, checkpoint_dir=tmp_path / "state", progress=False, log=lambda m: None
        )


def test_a_split_without_both_classes_is_refused(tmp_path, manifest):
    rows = csv_rows(manifest)
    for row in rows:
        row["class"] = "benign" if row["split"] == "val" else row["class"]
    path = write_manifest(tmp_path / "bad.csv", rows)
    with pytest.raises(InputError, match="val split needs cases of both classes for malignancy"):
        train(path, tmp_path / "p", CONFIG, checkpoint_dir=tmp_path / "s", progress=False, log=lambda m: None)


def test_every_phase_combination_in_one_command(tmp_path, manifest, capsys):
    from RenalMassAILib.cli import main

    out = tmp_path / "all"
    assert (
        main(
            [
                "train",
                "--manifest",
                str(manifest),
                "--out",
                str(out),
                "--architecture",
                "authors-hybrid",
                "--tasks",
                "malignancy",
                "--epochs",
                "1",
                "--batch-size",
                "6",
                "--no-augment",
                "--lr",
                "1e-3",
                "--every-combination",
                "--no-progress",
            ]
        )
        == 0
    )
    table = csv_rows(out / "auc_by_phases.csv")
    assert [row["phases"] for row in table] == ["N", "A", "V", "NA", "NV", "AV", "NAV"]
    for combination in ("N", "AV", "NAV"):
        package = load_package(out / combination)
        assert package.card.phases == tuple(combination) and package.card.id == f"renal-mass-classifier-{combination}"
        row = next(row for row in table if row["phases"] == combination)  # the table is the packages' own AUC
        card_auc = package.card.fields["validation"]["auc"]["malignancy"]
        assert float(row["val_auc_malignancy"]) == pytest.approx(card_auc, abs=1e-3)
    assert "NAV" in capsys.readouterr().out  # the summary table is printed


def test_precise_batch_norm_replaces_running_statistics_with_the_training_cases_exact_average():
    import torch

    from RenalMassAILib.classify.networks import build_network
    from RenalMassAILib.cohort.training import _precise_batch_norm, training_data

    torch.manual_seed(0)
    network = build_network("shared-backbone", ("N", "A", "V"), ("malignancy",))
    cases = 64
    x = torch.rand(cases, 3, 32, 32) * torch.linspace(0.5, 2.0, cases)[:, None, None, None]
    data = training_data(
        x.numpy(), [[True] * 3] * cases, ["benign", "indolent"] * 32, list(range(cases)), ("malignancy",)
    )
    first = network.backbone.bn1
    first.running_mean.fill_(123.0)  # stale averages of some earlier, different batches
    weights = {k: v.clone() for k, v in network.state_dict().items() if "running" not in k and "batches" not in k}
    config = TrainingConfig(batch_size=8, tasks=("malignancy",))
    _precise_batch_norm(network, data, config)
    with torch.no_grad():
        expected = network.backbone.conv1(x.reshape(-1, 1, 32, 32)).mean(dim=(0, 2, 3))
    assert torch.allclose(first.running_mean, expected, atol=1e-5)  # two equal batches of 32 cases
    assert first.momentum == 0.1
    assert all(torch.equal(v, network.state_dict()[k]) for k, v in weights.items())


def test_cosine_schedule_decays_from_the_rate_to_zero():
    import torch

    from RenalMassAILib.cohort.training import _learning_rate, _optimizer

    cosine = TrainingConfig(learning_rate=4e-4, lr_schedule="cosine")
    assert [round(_learning_rate(cosine, p), 10) for p in (0.0, 0.5, 1.0)] == [4e-4, 2e-4, 0.0]
    assert _learning_rate(TrainingConfig(learning_rate=4e-4), 0.9) == 4e-4  # constant: the default
    assert isinstance(_optimizer(torch.nn.Linear(2, 2), TrainingConfig(weight_decay=0.01)), torch.optim.AdamW)
    with pytest.raises(InputError, match="learning-rate schedule 'step'"):
        _optimizer(torch.nn.Linear(2, 2), TrainingConfig(lr_schedule="step"))


def test_early_fusion_package_serves_every_combination_with_one_map_per_task(tmp_path, manifest):
    import numpy as np

    from RenalMassAILib.case.phase import Phase
    from RenalMassAILib.classify.model_input import ModelInput, PatchGeometry
    from RenalMassAILib.classify.prediction import predict_and_explain
    from RenalMassAILib.cli import main

    out = tmp_path / "early"
    arguments = ["train", "--manifest", str(manifest), "--out", str(out), "--architecture", "early-fusion"]
    arguments += ["--tasks", "malignancy", "--epochs", "2", "--batch-size", "6", "--no-augment", "--lr", "1e-3"]
    assert main([*arguments, "--lr-schedule", "cosine", "--weight-decay", "0.01", "--no-progress"]) == 0
    package = load_package(out)
    training = package.card.fields["training"]
    assert package.card.architecture == "early-fusion" and package.card.accepts_phase_subsets
    assert (training["lr_schedule"], training["weight_decay"]) == ("cosine", 0.01)
    assert set(package.card.fields["validation"]["auc_by_phases"]) == {"N", "A", "V", "NA", "NV", "AV", "NAV"}
    rng = np.random.default_rng(0)
    preset = package.card.preprocessing
    patches = {p: rng.random((preset.size, preset.size), dtype=np.float32) for p in Phase}
    model_input = ModelInput(patches, PatchGeometry((0.0, 0.0, 0.0), preset.pixel_mm, preset.size), preset)
    predictions, maps = predict_and_explain(package, model_input, ("A", "V"))
    assert set(maps["malignancy"]) == {"A", "V"}  # one map of the phases together, shown on each
    np.testing.assert_array_equal(maps["malignancy"]["A"], maps["malignancy"]["V"])
    assert 0.0 <= predictions["malignancy"].probability <= 1.0
