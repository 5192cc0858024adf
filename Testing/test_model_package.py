"""Model packages: verified before use, refused with clear messages, installed offline."""

import json
import zipfile

import pytest
import torch

from RenalMassAILib.classify.model_package import load_package, write_package
from RenalMassAILib.classify.model_registry import choose, install, list_installed
from RenalMassAILib.classify.networks import build_network
from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError


def _package(folder, architecture="authors-hybrid", phases=("N", "A", "V"), tasks=("malignancy",), demo=False,
             model_id="test-model"):
    torch.manual_seed(0)
    network = build_network(architecture, phases, tasks)
    return write_package(folder, network, {"id": model_id, "version": "1.0", "demo": demo, "tasks": list(tasks),
                                           "phases": list(phases), "architecture": architecture,
                                           "preprocessing": PRESETS["authors-code"].to_dict()})


@pytest.fixture
def registry(tmp_path, monkeypatch):
    monkeypatch.setenv("RENALMASSAI_MODELS", str(tmp_path / "registry"))
    return tmp_path / "registry"


def test_checksum_mismatch_is_refused(tmp_path, capsys):
    folder = _package(tmp_path / "p", "authors-hybrid", ("V",))
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-10] ^= 0xFF
    weights.write_bytes(bytes(data))
    assert main(["models", "verify", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "checksum mismatch" in err and "weights.safetensors" in err


def test_truncated_weights_are_refused(tmp_path):
    folder = _package(tmp_path / "p", "authors-hybrid", ("V",))
    weights = folder / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(InputError, match="checksum mismatch"):
        load_package(folder)
    # Even with a card updated to the truncated file, the weights cannot be read: still a clear error.
    from RenalMassAILib.classify.model_package import sha256_of
    card = json.loads((folder / "model.json").read_text())
    card["weights"]["sha256"] = sha256_of(weights)
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(InputError, match="cannot be read"):
        load_package(folder)


def test_broken_cards_are_refused(tmp_path):
    folder = _package(tmp_path / "p", "authors-hybrid", ("V",))
    card = json.loads((folder / "model.json").read_text())
    for change, message in [({"architecture": "vgg"}, "unknown architecture"), ({"tasks": ["survival"]}, "tasks"),
                            ({"format": "other/9"}, "format")]:
        (folder / "model.json").write_text(json.dumps(card | change))
        with pytest.raises(InputError, match=message):
            load_package(folder)
    (folder / "model.json").write_text(json.dumps({k: v for k, v in card.items() if k != "phases"}))
    with pytest.raises(InputError, match="lacks the field 'phases'"):
        load_package(folder)
    with pytest.raises(InputError, match="no model.json"):
        load_package(tmp_path)


def test_a_package_needing_a_missing_phase_is_refused(tmp_path):
    folder = _package(tmp_path / "p", "authors-hybrid", ("N", "A", "V"))
    with pytest.raises(InputError, match="needs the phases N A V; the case has A V"):
        choose("malignancy", ("A", "V"), explicit=folder)
    with pytest.raises(InputError, match="predicts malignancy, not aggressiveness"):
        choose("aggressiveness", ("N", "A", "V"), explicit=folder)


def test_registry_installs_a_zip_offline_and_chooses_by_phases(tmp_path, registry):
    three = _package(tmp_path / "three", "authors-hybrid", ("N", "A", "V"), model_id="nav")
    single = _package(tmp_path / "single", "authors-hybrid", ("V",), model_id="v-only")
    archive = tmp_path / "nav.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for file in three.iterdir():
            zipped.write(file, f"nav/{file.name}")
    install(archive)
    install(single)
    with pytest.raises(InputError, match="already installed"):
        install(single)
    ids = {i.card.id for i in list_installed() if i.card}
    assert {"nav", "v-only"} <= ids
    package, used = choose("malignancy", ("N", "A", "V"))
    assert package.card.id == "nav" and used == ("N", "A", "V")
    package, used = choose("malignancy", ("A", "V"))
    assert package.card.id in ("v-only", "demo-shared-resnet18") and "V" in used
    assert len(used) == 1 or package.card.accepts_phase_subsets


def test_zip_with_paths_outside_is_refused(tmp_path, registry):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("../../escape.txt", "x")
    with pytest.raises(InputError, match="outside the archive"):
        install(archive)
