"""Authors'-layout checkpoints import as packages and give the authors' forward result."""

import numpy as np
import pytest
import torch
import torchvision
from torch import nn

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.classify.model_input import ModelInput, PatchGeometry
from RenalMassAILib.classify.model_package import load_package
from RenalMassAILib.classify.prediction import predict
from RenalMassAILib.classify.preprocessing import PRESETS
from RenalMassAILib.cli import main


def _branch():
    network = torchvision.models.resnet18()
    network.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
    network.fc = nn.Identity()
    return network


def _head(features):
    return nn.Sequential(
        nn.Linear(features, 512),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(512, 512),
        nn.ReLU(),
        nn.Dropout(0.5),
        nn.Linear(512, 512),
        nn.Linear(512, 2),
    )


class AuthorsThreePhase(nn.Module):
    """Structure of the released HybridNAV, written independently: attribute names and softmax output."""

    def __init__(self):
        super().__init__()
        self.modelN, self.modelA, self.modelV = _branch(), _branch(), _branch()
        self.fc_all = _head(1536)

    def forward(self, n, a, v):
        return torch.softmax(self.fc_all(torch.cat([self.modelN(n), self.modelA(a), self.modelV(v)], 1)), 1)


class AuthorsTwoPhase(nn.Module):
    def __init__(self):
        super().__init__()
        self.model1, self.model2 = _branch(), _branch()
        self.fc_all = _head(1024)

    def forward(self, first, second):
        return torch.softmax(self.fc_all(torch.cat([self.model1(first), self.model2(second)], 1)), 1)


class AuthorsOnePhase(nn.Module):
    """The released Res18: `in_channel` input channels (their default is 16)."""

    def __init__(self, in_channel=1):
        super().__init__()
        self.Res2D = torchvision.models.resnet18()
        self.Res2D.conv1 = nn.Conv2d(in_channel, 64, 7, 2, 3, bias=False)
        self.Res2D.fc = nn.Linear(512, 2)

    def forward(self, x):
        return torch.softmax(self.Res2D(x), 1)


def _random_network(cls, seed, **arguments):
    torch.manual_seed(seed)
    network = cls(**arguments).eval()
    with torch.no_grad():  # non-trivial batch-norm statistics, as a trained network has
        for module in network.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return network


def _inputs(seed=0):
    rng = np.random.default_rng(seed)
    patches = {p: rng.random((224, 224), dtype=np.float32) for p in Phase}
    return ModelInput(patches, PatchGeometry((0.0, 0.0, 0.0), 120 / 224, 224), PRESETS["authors-code"])


@pytest.mark.parametrize(
    "cls, phases, wrap",
    [(AuthorsThreePhase, ["N", "A", "V"], False), (AuthorsTwoPhase, ["A", "V"], True), (AuthorsOnePhase, ["V"], False)],
)
def test_imported_checkpoint_gives_the_authors_output(tmp_path, capsys, cls, phases, wrap):
    network = _random_network(cls, seed=len(phases))
    state = network.state_dict()
    if wrap:  # as saved from a DataParallel model inside a training checkpoint
        state = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in state.items()}}
    torch.save(state, tmp_path / "authors.pth")
    code = _import_malignancy(tmp_path / "authors.pth", list(phases), tmp_path / "package")
    assert code == 0, capsys.readouterr().err
    package = load_package(tmp_path / "package")
    assert package.card.preprocessing.name == "authors-code" and not package.card.demo
    model_input = _inputs()
    ours = predict(package, model_input, tuple(phases))["malignancy"].probability
    tensors = [torch.from_numpy(model_input.patches[Phase(p)])[None, None] for p in phases]
    with torch.inference_mode():
        theirs = float(network(*tensors)[0, 1])
    assert ours == pytest.approx(theirs, abs=1e-5)
    assert 0.0 < ours < 1.0


def _import_malignancy(checkpoint, phases: list[str], out) -> int:
    """`models import-authors` of a malignancy checkpoint; the exit status."""
    return main(["models", "import-authors", str(checkpoint), "--task", "malignancy", "--phases", *phases,
                 "--out", str(out)])  # fmt: skip


def test_wrong_checkpoints_are_refused_clearly(tmp_path, capsys):
    network = _random_network(AuthorsOnePhase, seed=1)
    torch.save(network.state_dict(), tmp_path / "one.pth")
    assert _import_malignancy(tmp_path / "one.pth", ["N", "A"], tmp_path / "p") == 2
    assert "takes 1 distinct phase" in capsys.readouterr().err
    torch.save({"conv.weight": torch.zeros(3)}, tmp_path / "other.pth")
    assert _import_malignancy(tmp_path / "other.pth", ["N"], tmp_path / "p") == 2
    assert "match none of the authors' networks" in capsys.readouterr().err
    torch.save(network, tmp_path / "pickled_module.pth")  # a whole pickled model: never unpickled
    assert _import_malignancy(tmp_path / "pickled_module.pth", ["N"], tmp_path / "p") == 2
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize("channels", [1, 16])
def test_res18_input_channels_are_read_from_the_checkpoint(tmp_path, capsys, channels):
    network = _random_network(AuthorsOnePhase, seed=5, in_channel=channels)
    torch.save(network.state_dict(), tmp_path / "res18.pth")
    command = ["models", "import-authors", str(tmp_path / "res18.pth"), "--task", "aggressiveness", "--phases", "A"]
    if channels == 16:  # the authors' default: refused, since what the 16 channels held is unknown
        assert main([*command, "--out", str(tmp_path / "refused")]) == 2
        err = capsys.readouterr().err
        assert "Res2D.conv1 takes 16 input channels" in err and "--sum-input-channels" in err
        assert len(err.strip().splitlines()) == 1 and not (tmp_path / "refused").exists()
        command.append("--sum-input-channels")  # the user knows the slice filled every channel
    assert main([*command, "--out", str(tmp_path / "package")]) == 0, capsys.readouterr().err
    package = load_package(tmp_path / "package")
    assert package.card.fields["input_channels"]["checkpoint"] == channels
    assert package.card.fields["input_channels"]["used"] == 1
    model_input = _inputs(seed=2)
    ours = predict(package, model_input, ("A",))["aggressiveness"].probability
    slice_a = torch.from_numpy(model_input.patches[Phase.ARTERIAL])[None, None]
    with torch.inference_mode():
        theirs = float(network(slice_a.repeat(1, channels, 1, 1))[0, 1])  # the slice in every channel
    assert ours == pytest.approx(theirs, abs=1e-5)
