"""The extension's layout: CMake lists match the files, the engine stays free of Slicer's Qt side."""

import ast
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "RenalMassAI"
LIB = MODULE / "RenalMassAILib"
QT_SIDE = {
    "qt",
    "ctk",
    "PythonQt",
    "slicer.util",
    "slicer.ScriptedLoadableModule",
    "slicer.parameterNodeWrapper",
    "sitkUtils",
}


def _cmake_list(name: str) -> list[str]:
    text = (MODULE / "CMakeLists.txt").read_text()
    body = re.search(rf"set\({name}\n(.*?)\n\s*\)", text, re.S).group(1)
    return [line.strip() for line in body.splitlines() if line.strip()]


def test_module_cmake_lists_every_script():
    on_disk = ["RenalMassAI.py"] + [str(p.relative_to(MODULE)) for p in LIB.rglob("*.py")]
    assert sorted(_cmake_list("MODULE_PYTHON_SCRIPTS")) == sorted(on_disk)


def test_module_cmake_lists_every_resource():
    on_disk = [str(p.relative_to(ROOT)) for p in (ROOT / "Resources").rglob("*") if p.is_file()]
    assert sorted(_cmake_list("MODULE_PYTHON_RESOURCES")) == sorted(on_disk)


def test_extension_metadata():
    top = (ROOT / "CMakeLists.txt").read_text()
    assert re.search(r'set\(EXTENSION_DEPENDS "PyTorch NNUNet"\)', top)
    assert "add_subdirectory(RenalMassAI)" in top
    assert 'set(RenalMassAI_MINIMUM_SLICER_VERSION "5.10")' in top and "FATAL_ERROR" in top
    assert "slicerMacroBuildScriptedModule" in (MODULE / "CMakeLists.txt").read_text()
    keys = {
        line.split()[0]
        for line in (ROOT / "RenalMassAI.s4ext").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {
        "scm",
        "scmurl",
        "scmrevision",
        "depends",
        "build_subdirectory",
        "homepage",
        "contributors",
        "category",
        "iconurl",
        "status",
        "description",
        "screenshoturls",
        "enabled",
    } <= keys


def test_extension_catalog_entry_is_the_json_the_index_takes():
    """Slicer/ExtensionsIndex entries (e.g. NNUNet.json) follow slicer-extension-catalog-entry-schema-v1.0.1."""
    entry = json.loads((ROOT / "RenalMassAI.json").read_text())
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    assert set(entry) == {
        "$schema",
        "build_dependencies",
        "build_subdirectory",
        "category",
        "scm_revision",
        "scm_url",
        "tier",
    }
    assert entry["build_dependencies"] == ["PyTorch", "NNUNet"]  # the same as EXTENSION_DEPENDS
    s4ext = dict(
        line.split(None, 1)
        for line in (ROOT / "RenalMassAI.s4ext").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert entry["scm_url"] == s4ext["scmurl"] and entry["category"] == s4ext["category"]
    assert s4ext["depends"].split() == entry["build_dependencies"]


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_library_imports_nothing_from_slicers_qt_side():
    for path in LIB.rglob("*.py"):
        bad = {name for name in _imports(path) if name in QT_SIDE or name.split(".")[0] in {"qt", "ctk"}}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_every_library_module_imports_without_slicer_or_qt():
    modules = [
        ".".join(p.relative_to(MODULE).with_suffix("").parts) for p in LIB.rglob("*.py") if p.name != "__main__.py"
    ]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "assert not {'qt', 'ctk', 'PythonQt'} & set(sys.modules), sorted(sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=MODULE)
    assert result.returncode == 0, result.stderr


def test_module_file_is_thin_and_its_ui_binds_the_parameter_node():
    source = (MODULE / "RenalMassAI.py").read_text()
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    assert set(classes) == {"RenalMassAI", "RenalMassAIWidget", "RenalMassAITest", "RenalMassAIParameterNode"}
    fields = {node.target.id for node in classes["RenalMassAIParameterNode"].body if isinstance(node, ast.AnnAssign)}
    ui = ElementTree.parse(ROOT / "Resources" / "UI" / "RenalMassAI.ui")
    bound = {prop.find("string").text for prop in ui.iter("property") if prop.get("name") == "SlicerParameterName"}
    # Every field is on screen except the outputs the glue fills in (VOI box, results table).
    assert bound == fields - {"voi", "resultsTable"}
    from RenalMassAILib.scene.parameters import NODE_REFERENCES

    assert set(NODE_REFERENCES) <= fields  # the glue and the GUI use the same parameter names
    engine = {name for name in _imports(MODULE / "RenalMassAI.py") if name.startswith("RenalMassAILib")}
    assert "RenalMassAILib.scene.module_logic" in engine, "the Logic lives in the library"
    assert "messageBox" not in (LIB / "scene" / "module_logic.py").read_text()


def test_module_file_loads_on_old_pythons_to_refuse_old_slicers():
    """Slicer 5.8 has Python 3.9: the module file must import there to show its version message, so it
    evaluates no `X | Y` annotation and imports RenalMassAILib (Python >= 3.10) only inside functions."""
    tree = ast.parse((MODULE / "RenalMassAI.py").read_text(), feature_version=(3, 9))
    annotations = [
        node.annotation
        for node in ast.walk(tree)
        if isinstance(node, (ast.arg, ast.AnnAssign)) and node.annotation is not None
    ]
    annotations += [node.returns for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.returns]
    assert not [ast.unparse(a) for a in annotations if any(isinstance(n, ast.BitOr) for n in ast.walk(a))]
    top_level = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert not [ast.unparse(n) for n in top_level if "RenalMassAILib" in ast.unparse(n)]


def test_slicer_requirements_are_ranges_holding_the_tested_pins_and_leave_slicers_packages_alone():
    from packaging.requirements import Requirement

    pinned = dict(re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', (ROOT / "pyproject.toml").read_text()))
    from RenalMassAILib.scene.dependencies import KEPT_DISTRIBUTIONS, requirement_lines

    lines = requirement_lines(ROOT / "Resources" / "requirements-slicer.txt")
    assert lines
    for line in lines:
        requirement = Requirement(line)
        assert "==" not in line, f"{line}: a range, so that other extensions can share Slicer's Python"
        assert requirement.specifier.contains(pinned[requirement.name]), (
            f"{line} excludes the tested {pinned[requirement.name]}"
        )
        assert requirement.name.lower() not in {name.lower() for name in KEPT_DISTRIBUTIONS}
