"""Model packages: verified before use, refused with clear messages, installed offline."""

import json
import stat
import zipfile
from pathlib import Path

import pytest
import torch

from RenalMassAILib.classify.model_package import load_package, write_package
from RenalMassAILib.classify.model_registry import builtin_dir, choose, install, list_installed
from RenalMassAILib.classify.networks import build_network
from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError


def _package(
    folder,
    architecture="authors-hybrid",
    phases=("N", "A", "V"),
    tasks=("malignancy",),
    demo=False,
    model_id="test-model",
):
    torch.manual_seed(0)
    network = build_network(architecture, phases, tasks)
    return write_package(
        folder,
        network,
        {
            "id": model_id,
            "version": "1.0",
            "demo": demo,
            "tasks": list(tasks),
            "phases": list(phases),
            "architecture": architecture,
            "preprocessing": PRESETS["authors-code"].to_dict(),
        },
    )


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
    for change, message in [
        ({"architecture": "vgg"}, "unknown architecture"),
        ({"tasks": ["survival"]}, "tasks"),
        ({"format": "other/9"}, "format"),
    ]:
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


def _archive_with(tmp_path, extra: zipfile.ZipInfo | str, data=b"x") -> Path:
    """A package archive's card plus one hostile member (the refusal comes before the weights matter)."""
    archive = tmp_path / "hostile.zip"
    card = {"format": "renalmassai.model/1", "id": "hostile", "version": "1.0"}
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("pkg/model.json", json.dumps(card))
        zipped.writestr(extra, data)
    return archive


def _symlink(name: str, target: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16  # how zip tools store a symbolic link
    return info


@pytest.mark.parametrize(
    "member, message",
    [
        ("../evil", "member '../evil' points outside the archive's folder"),
        ("pkg/../../evil.txt", "member 'pkg/../../evil.txt' points outside the archive's folder"),
        ("/tmp/evil.txt", "member '/tmp/evil.txt' is an absolute path"),
        ("C:/evil.txt", "member 'C:/evil.txt' is an absolute path"),
        (_symlink("pkg/weights-link", "/etc/passwd"), "member 'pkg/weights-link' is a symbolic link"),
    ],
)
def test_hostile_zip_members_are_refused_in_one_line(tmp_path, registry, capsys, member, message):
    archive = _archive_with(tmp_path, member)
    assert main(["models", "import", str(archive)]) == 2
    err = capsys.readouterr().err
    assert message in err and "hostile.zip" in err and len(err.strip().splitlines()) == 1
    assert not registry.exists() or not any(registry.iterdir())
    assert not (tmp_path / "evil").exists() and not (tmp_path / "evil.txt").exists()
    with pytest.raises(InputError, match=message.split("'")[0]):
        load_package(archive)


def _declare_size(archive, member: str, size: int) -> None:
    """Rewrites the central-directory entry of `member` to declare `size` uncompressed bytes."""
    data = bytearray(archive.read_bytes())
    start = 0
    while (start := data.find(b"PK\x01\x02", start)) != -1:
        name_length = int.from_bytes(data[start + 28 : start + 30], "little")
        if data[start + 46 : start + 46 + name_length].decode() == member:
            data[start + 24 : start + 28] = size.to_bytes(4, "little")
        start += 4
    archive.write_bytes(bytes(data))


def test_zip_bombs_are_refused(tmp_path, registry, capsys):
    archive = _archive_with(tmp_path, "pkg/notes.txt", b"0" * 10_000)
    _declare_size(archive, "pkg/notes.txt", 4_000_000_000)  # declares 4 GB: refused before anything is written
    assert main(["models", "import", str(archive)]) == 2
    err = capsys.readouterr().err
    assert "unpacks to 4.0 GB (declared sizes), over the 2.1 GB limit" in err and len(err.strip().splitlines()) == 1
    _declare_size(archive, "pkg/notes.txt", 100)  # declares less than it holds: stopped at 100 bytes, bad CRC
    assert main(["models", "import", str(archive)]) == 2
    assert "is not a valid .zip file (Bad CRC-32" in capsys.readouterr().err
    assert not registry.exists() or not any(registry.iterdir())


def test_tests_never_see_the_users_registry():
    """conftest points RENALMASSAI_MODELS at a fresh folder: only the bundled demo model is installed."""
    from RenalMassAILib.classify.model_registry import registry_dir

    assert not registry_dir().is_relative_to(Path.home() / ".cache")
    assert all(i.path.parent in (registry_dir(), builtin_dir()) for i in list_installed())
    assert {i.card.id for i in list_installed() if i.path.parent == builtin_dir()} == {
        "demo-early-fusion-resnet18",
        "demo-shared-resnet18",
    }


def test_three_phases_get_the_early_fusion_demo_model_and_subsets_the_shared_one():
    """Both bundled demo models use all three phases of a full case: the higher validation AUC on its
    card decides; only the shared backbone serves a case that lacks a phase."""
    for task in ("malignancy", "aggressiveness"):
        package, used = choose(task, ("N", "A", "V"))
        assert package.card.id == "demo-early-fusion-resnet18" and used == ("N", "A", "V")
        package, used = choose(task, ("A", "V"))
        assert package.card.id == "demo-shared-resnet18" and used == ("A", "V")
    early = load_package(builtin_dir() / "demo-early-fusion-resnet18")
    assert not early.card.accepts_phase_subsets
    with pytest.raises(InputError, match="needs the phases N A V; the case has A V"):
        choose("malignancy", ("A", "V"), explicit=builtin_dir() / "demo-early-fusion-resnet18")
