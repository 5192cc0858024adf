"""Model packages: a folder (or .zip) with model.json and the weights, verified before use.

Nothing in a package is executed: the card is JSON, the weights are safetensors (or a .pt state
dict read with torch.load(weights_only=True)), and their SHA-256 must match the card.
"""

import dataclasses
import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

import torch

from RenalMassAILib.classify.networks import ARCHITECTURES, build_network, serves_phase_subsets
from RenalMassAILib.classify.preprocessing import Preprocessing
from RenalMassAILib.errors import InputError

FORMAT = "renalmassai.model/1"
CARD = "model.json"
TASKS = ("malignancy", "aggressiveness")
POSITIVE_CLASS = {"malignancy": "malignant", "aggressiveness": "aggressive"}
DEMO_NOTICE = "demo, synthetic training data, not for clinical use"
# An archive may unpack to at most this much (the authors' three-branch network is about 135 MB),
# in at most this many members: a larger one is refused before anything is written (zip bombs).
MAX_UNPACKED_BYTES = 2 << 30
MAX_MEMBERS = 1000


@dataclasses.dataclass(frozen=True)
class ModelCard:
    id: str
    version: str
    demo: bool
    tasks: tuple[str, ...]
    phases: tuple[str, ...]
    architecture: str
    preprocessing: Preprocessing
    weights_file: str
    sha256: str
    fields: dict  # the whole card, for display (training data, validation AUC, ...)

    @property
    def accepts_phase_subsets(self) -> bool:
        return serves_phase_subsets(self.architecture, self.fields.get("training", {}).get("phase_dropout") or 0.0)

    @property
    def label(self) -> str:
        return f"{self.id} {self.version}" + (" (DEMO)" if self.demo else "")


@dataclasses.dataclass
class ModelPackage:
    path: Path
    card: ModelCard
    network: torch.nn.Module  # eval mode, float32


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_card(folder: Path) -> ModelCard:
    folder = Path(folder)
    path = folder / CARD
    if not path.is_file():
        raise InputError(f"model package {str(folder)!r}: no {CARD} in it")
    try:
        fields = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise InputError(f"model package {str(folder)!r}: {CARD} is not valid JSON ({error})") from None
    where = f"model package {str(folder)!r}"
    try:
        if fields.get("format") != FORMAT:
            raise InputError(f"{where}: format {fields.get('format')!r} is not {FORMAT!r}")
        card = ModelCard(
            id=str(fields["id"]),
            version=str(fields["version"]),
            demo=bool(fields["demo"]),
            tasks=tuple(fields["tasks"]),
            phases=tuple(fields["phases"]),
            architecture=fields["architecture"],
            preprocessing=Preprocessing.from_dict(fields["preprocessing"]),
            weights_file=fields["weights"]["file"],
            sha256=fields["weights"]["sha256"].lower(),
            fields=fields,
        )
    except KeyError as missing:
        raise InputError(f"{where}: {CARD} lacks the field {missing}") from None
    except (TypeError, ValueError) as error:
        raise InputError(f"{where}: {CARD} has an invalid value ({error})") from None
    if card.architecture not in ARCHITECTURES:
        raise InputError(f"{where}: unknown architecture {card.architecture!r}")
    if not set(card.tasks) <= set(TASKS) or not card.tasks:
        raise InputError(f"{where}: tasks {card.tasks} must be among {TASKS}")
    if not set(card.phases) <= {"N", "A", "V"} or not card.phases:
        raise InputError(f"{where}: phases {card.phases} must be among N, A, V")
    if Path(card.weights_file).name != card.weights_file:
        raise InputError(f"{where}: weights file {card.weights_file!r} must lie in the package folder")
    return card


def verify_package(folder) -> ModelCard:
    """The card is sound and the weights' SHA-256 matches it."""
    card = read_card(folder)
    weights = Path(folder) / card.weights_file
    if not weights.is_file():
        raise InputError(f"model package {str(folder)!r}: weights file {card.weights_file!r} is missing")
    actual = sha256_of(weights)
    if actual != card.sha256:
        raise InputError(
            f"model package {str(folder)!r}: checksum mismatch for {card.weights_file} (SHA-256 "
            f"{actual[:12]}..., card says {card.sha256[:12]}...): the file is damaged or was changed"
        )
    return card


def load_package(path) -> ModelPackage:
    path = Path(path)
    if path.suffix == ".zip":
        with tempfile.TemporaryDirectory() as folder:
            package = load_package(extract_zip(path, Path(folder)))
            package.path = path
            return package
    if not path.exists():
        raise InputError(f"model package {str(path)!r}: no such folder")
    card = verify_package(path)
    state = load_state_dict(path / card.weights_file, f"model package {str(path)!r}")
    network = build_network(card.architecture, card.phases, card.tasks)
    try:
        network.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    except RuntimeError as error:
        first = str(error).splitlines()[0]
        raise InputError(
            f"model package {str(path)!r}: weights do not fit a {card.architecture} network ({first})"
        ) from None
    return ModelPackage(path, card, network.eval())


def load_state_dict(path: Path, where: str) -> dict:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # a damaged file raises many kinds of errors
        raise InputError(
            f"{where}: weights {path.name} cannot be read ({type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''})"
        ) from None


def write_package(folder, network: torch.nn.Module, card: dict, half: bool = False) -> Path:
    """Writes weights (safetensors; fp16 when half) and model.json with their SHA-256."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    weights = folder / "weights.safetensors"
    state = {
        k: (v.half() if half and v.is_floating_point() else v).contiguous() for k, v in network.state_dict().items()
    }
    save_file(state, str(weights))
    card = {
        "format": FORMAT,
        **card,
        "weights": {"file": weights.name, "sha256": sha256_of(weights), "dtype": "float16" if half else "float32"},
    }
    (folder / CARD).write_text(json.dumps(card, indent=2) + "\n")
    return folder


def extract_zip(archive: Path, into: Path, max_bytes: int | None = None) -> Path:
    """Extracts a package archive (model.json at its top or in one folder). Every member is checked
    before anything is written: its resolved path must lie inside `into` (no '..', no absolute path),
    it must be a plain file or folder (no symbolic link), and the declared sizes must stay under
    `max_bytes` (default MAX_UNPACKED_BYTES). A member holding more than it declares is stopped by
    zipfile at the declared size and fails its CRC check; the bytes written are also counted against
    the limit."""
    where = f"model archive {str(archive)!r}"
    max_bytes = MAX_UNPACKED_BYTES if max_bytes is None else max_bytes
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            targets = [_member_target(info, into, where) for info in members]
            _check_sizes(members, max_bytes, where)
            written = 0
            for info, target in zip(members, targets):
                written = _extract_member(zipped, info, target, written, max_bytes, where)
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise InputError(f"{where} is not a valid .zip file ({error})") from None
    except (NotImplementedError, RuntimeError) as error:  # unsupported compression, encryption
        raise InputError(f"{where} cannot be unpacked ({error})") from None
    cards = list(into.rglob(CARD))
    if len(cards) != 1:
        raise InputError(f"{where} holds {len(cards)} {CARD} files; expected one")
    return cards[0].parent


def _member_target(info: zipfile.ZipInfo, into: Path, where: str) -> Path:
    name = info.filename
    if PurePosixPath(name).is_absolute() or PureWindowsPath(name).is_absolute() or PureWindowsPath(name).drive:
        raise InputError(f"{where}: member {name!r} is an absolute path; a package archive holds relative paths only")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise InputError(f"{where}: member {name!r} is a symbolic link; a package archive holds plain files only")
    root = into.resolve()
    target = (root / name).resolve()
    if not target.is_relative_to(root):
        raise InputError(f"{where}: member {name!r} points outside the archive's folder")
    return target


def _check_sizes(members: list[zipfile.ZipInfo], max_bytes: int, where: str) -> None:
    if len(members) > MAX_MEMBERS:
        raise InputError(f"{where}: holds {len(members)} members, more than the {MAX_MEMBERS} a package may have")
    declared = sum(info.file_size for info in members)
    if declared > max_bytes:
        raise InputError(
            f"{where}: unpacks to {_size(declared)} (declared sizes), over the {_size(max_bytes)} "
            "limit for a model package"
        )


def _extract_member(
    zipped: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, written: int, max_bytes: int, where: str
) -> int:
    if info.is_dir():
        target.mkdir(parents=True, exist_ok=True)
        return written
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipped.open(info) as source, open(target, "wb") as sink:
        while block := source.read(1 << 20):
            written += len(block)
            if written > max_bytes:
                raise InputError(
                    f"{where}: unpacks beyond the {_size(max_bytes)} limit for a model package "
                    f"(member {info.filename!r} holds more than it declares)"
                )
            sink.write(block)
    return written


def _size(count: int) -> str:
    return f"{count / 1e9:.1f} GB" if count >= 1e8 else f"{count / 1e6:.1f} MB"


def copy_package(source: Path, target: Path) -> None:
    shutil.copytree(source, target, dirs_exist_ok=False)
