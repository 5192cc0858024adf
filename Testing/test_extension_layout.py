"""The extension's layout: CMake lists match the files, the engine stays free of Slicer's Qt side."""

import ast
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "RenalMassAI"
LIB = MODULE / "RenalMassAILib"
QT_SIDE = {"qt", "ctk", "PythonQt", "slicer.util", "slicer.ScriptedLoadableModule", "slicer.parameterNodeWrapper",
           "sitkUtils"}


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
    assert 'set(EXTENSION_DEPENDS "PyTorch")' in top
    assert "add_subdirectory(RenalMassAI)" in top
    assert "slicerMacroBuildScriptedModule" in (MODULE / "CMakeLists.txt").read_text()
    keys = {line.split()[0] for line in (ROOT / "RenalMassAI.s4ext").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    assert {"scm", "scmurl", "scmrevision", "depends", "build_subdirectory", "homepage", "contributors", "category",
            "iconurl", "status", "description", "screenshoturls", "enabled"} <= keys


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
    modules = [".".join(p.relative_to(MODULE).with_suffix("").parts) for p in LIB.rglob("*.py")
               if p.name != "__main__.py"]
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "assert not {'qt', 'ctk', 'PythonQt'} & set(sys.modules), sorted(sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=MODULE)
    assert result.returncode == 0, result.stderr


def test_module_file_is_thin_and_its_ui_binds_the_parameter_node():
    source = (MODULE / "RenalMassAI.py").read_text()
    tree = ast.parse(source)
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    assert {"RenalMassAI", "RenalMassAIWidget", "RenalMassAILogic", "RenalMassAITest",
            "RenalMassAIParameterNode"} <= set(classes)
    fields = {node.target.id for node in classes["RenalMassAIParameterNode"].body if isinstance(node, ast.AnnAssign)}
    ui = ElementTree.parse(ROOT / "Resources" / "UI" / "RenalMassAI.ui")
    bound = {prop.find("string").text for prop in ui.iter("property") if prop.get("name") == "SlicerParameterName"}
    # Every field is on screen except the outputs the glue fills in (VOI box, results table).
    assert bound == fields - {"voi", "resultsTable"}
    from RenalMassAILib.scene.parameters import NODE_REFERENCES
    assert set(NODE_REFERENCES) <= fields  # the glue and the GUI use the same parameter names
    engine = {name for name in _imports(MODULE / "RenalMassAI.py") if name.startswith("RenalMassAILib")}
    assert engine, "the module file should call the engine, not re-implement it"
    assert "messageBox" not in ast.get_source_segment(source, classes["RenalMassAILogic"])


def test_slicer_requirements_match_the_tested_pins_and_leave_slicers_packages_alone():
    pinned = dict(re.findall(r'"([A-Za-z0-9_.-]+)==([^"]+)"', (ROOT / "pyproject.toml").read_text()))
    lines = [line.strip() for line in (ROOT / "Resources" / "requirements-slicer.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines
    for line in lines:
        name, version = line.split("==")
        assert pinned.get(name) == version, f"{line} differs from pyproject.toml"
        assert name.lower() not in {"numpy", "simpleitk", "vtk", "torch"}
