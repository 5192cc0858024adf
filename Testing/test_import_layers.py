"""The engine's import graph points one way: each subpackage imports only from the layers below it.

Every import is counted, also those inside functions (lazy imports are still dependencies). A test
that only looked at the top of files would miss the cycles this guards against (e.g. prepare ->
lesion -> prepare through a function-level import)."""

import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[1] / "RenalMassAI" / "RenalMassAILib"

# Lowest first. A module may import from its own package and from packages of a lower rank only.
LAYERS = [
    ["errors", "resources", "torch_threads", "__init__"],
    ["case", "torch_device"],
    ["lesion", "classify", "phantom"],
    ["prepare"],
    ["pipeline"],
    ["present"],
    ["workers", "cohort"],
    ["scene"],
    ["web"],
    ["bench"],
    ["cli"],
    ["__main__"],
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def package_of(path: Path) -> str:
    """The top-level unit of RenalMassAILib a file belongs to: its subpackage, or its module name."""
    first = path.relative_to(LIBRARY).parts[0]
    return first.removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The RenalMassAILib units a file imports, anywhere in it."""
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "RenalMassAILib":  # a subpackage, or a name defined in __init__.py
                names = [f"RenalMassAILib.{alias.name if alias.name in RANK else '__init__'}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "RenalMassAILib" and len(parts) > 1:
                units.add(parts[1])
    return units


def upward_imports() -> list[str]:
    found = []
    for path in sorted(LIBRARY.rglob("*.py")):
        unit = package_of(path)
        for imported in imported_units(path) - {unit}:
            if RANK[imported] >= RANK[unit]:
                found.append(f"{path.relative_to(LIBRARY)} ({unit}) imports {imported}")
    return found


def test_every_unit_has_a_layer():
    units = {package_of(path) for path in LIBRARY.rglob("*.py")}
    assert units == set(RANK), "give every subpackage a place in LAYERS"


def test_no_import_points_up_or_sideways():
    assert upward_imports() == []


def test_the_check_sees_lazy_and_package_imports(tmp_path):
    """The walker finds an import inside a function and `from RenalMassAILib import x`."""
    module = tmp_path / "sample.py"
    module.write_text(
        "from RenalMassAILib import __version__\n"
        "def f():\n"
        "    from RenalMassAILib.prepare import prepare_case\n"
        "    import RenalMassAILib.scene.volumes\n"
    )
    assert imported_units(module) == {"__init__", "prepare", "scene"}
