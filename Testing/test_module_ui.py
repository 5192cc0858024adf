"""The module's .ui file against the module source, without a Slicer application.

Slicer loads Resources/UI/RenalMassAI.ui with Qt's designer loader and the parameter node wrapper
binds each widget that has a `SlicerParameterName` property. Nothing of this can run here, so the
test checks it statically from tables written after Slicer's and Qt's own sources:

- every `self.ui.<name>` the module uses is a widget of the .ui, and every member it touches
  (property, method, signal) exists on that widget's class;
- every signal connected (`.connect("signal(args)", ...)` or `.signal.connect(...)`) exists on the
  class with that signature, every `<connection>` of the .ui names a real signal and slot, and every
  standard property the .ui sets exists on the widget's class;
- every `SlicerParameterName` is a field of the module's parameter node whose type has a GUI
  connector for that exact widget class. The connector table encodes
  Slicer/Slicer Base/Python/slicer/parameterNodeWrapper/guiConnectors.py (commit 113c6bd0fb9f),
  whose `canRepresent` methods compare `type(widget) == <class>` exactly (no subclasses) and whose
  wrapper (wrapper.py `_connectParametersToGui`) creates every connector before writing any, so a
  single unsupported pair leaves nothing bound.
"""

import ast
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI_FILE = ROOT / "Resources" / "UI" / "RenalMassAI.ui"
MODULE_FILE = ROOT / "RenalMassAI" / "RenalMassAI.py"

# --- widget classes: base class, signals (Qt signatures), other members --------------------------
# From the Qt 5.15 class references and CTK / Slicer headers (ctkSliderWidget.h, ctkCollapsibleButton.h,
# qMRMLNodeComboBox.h, qMRMLTableView.h, qMRMLWidget.h, qSlicerSimpleMarkupsWidget.h). PythonQt maps
# Qt properties to attributes, so "enabled" stands for isEnabled/setEnabled.
WIDGETS = {
    "QObject": (
        None,
        {"destroyed()", "objectNameChanged(QString)"},
        {"objectName", "property", "setProperty", "connect", "disconnect", "parent"},
    ),
    "QWidget": (
        "QObject",
        {"customContextMenuRequested(QPoint)"},
        {
            "enabled",
            "visible",
            "toolTip",
            "show",
            "hide",
            "setVisible",
            "setEnabled",
            "setToolTip",
            "styleSheet",
            "update",
            "geometry",
        },
    ),
    "QLabel": (
        "QWidget",
        {"linkActivated(QString)", "linkHovered(QString)"},
        {"text", "setText", "wordWrap", "alignment"},
    ),
    "QAbstractButton": (
        "QWidget",
        {"clicked()", "clicked(bool)", "pressed()", "released()", "toggled(bool)"},
        {"text", "setText", "checkable", "checked", "setChecked", "click"},
    ),
    "QPushButton": ("QAbstractButton", set(), {"default", "flat"}),
    "QCheckBox": ("QAbstractButton", {"stateChanged(int)"}, {"checkState", "tristate"}),
    "QLineEdit": (
        "QWidget",
        {"textChanged(QString)", "textEdited(QString)", "editingFinished()", "returnPressed()"},
        {"text", "setText", "placeholderText", "clear", "readOnly"},
    ),
    "QComboBox": (
        "QWidget",
        {"activated(int)", "currentIndexChanged(int)", "currentTextChanged(QString)"},
        {"currentText", "currentIndex", "setCurrentIndex", "addItem", "addItems", "clear", "count", "findText"},
    ),
    "QProgressBar": (
        "QWidget",
        {"valueChanged(int)"},
        {"value", "minimum", "maximum", "setRange", "reset", "format", "textVisible"},
    ),
    "QTableView": ("QWidget", {"clicked(QModelIndex)", "doubleClicked(QModelIndex)"}, {"model"}),
    "ctkCollapsibleButton": ("QAbstractButton", {"contentsCollapsed(bool)"}, {"collapsed"}),
    "ctkSliderWidget": (
        "QWidget",
        {"valueChanged(double)", "valueIsChanging(double)"},
        {"value", "setValue", "minimum", "maximum", "singleStep", "decimals", "setRange"},
    ),
    "qMRMLWidget": ("QWidget", {"mrmlSceneChanged(vtkMRMLScene*)"}, {"setMRMLScene", "mrmlScene"}),
    "qSlicerWidget": ("QWidget", {"mrmlSceneChanged(vtkMRMLScene*)"}, {"setMRMLScene", "mrmlScene"}),
    "qMRMLNodeComboBox": (
        "QWidget",
        {
            "currentNodeChanged(vtkMRMLNode*)",
            "currentNodeChanged(bool)",
            "currentNodeIDChanged(QString)",
            "nodeActivated(vtkMRMLNode*)",
            "nodeAdded(vtkMRMLNode*)",
            "mrmlSceneChanged(vtkMRMLScene*)",
        },
        {
            "currentNode",
            "setCurrentNode",
            "currentNodeID",
            "setCurrentNodeID",
            "nodeTypes",
            "noneEnabled",
            "addEnabled",
            "removeEnabled",
            "setMRMLScene",
            "mrmlScene",
        },
    ),
    "qMRMLTableView": (
        "QTableView",
        {"selectionChanged()"},
        {"setMRMLTableNode", "mrmlTableNode", "setMRMLScene", "mrmlScene"},
    ),
    # Modules/Loadable/Markups/Widgets/qSlicerSimpleMarkupsWidget.h (Slicer/Slicer main)
    "qSlicerSimpleMarkupsWidget": (
        "qSlicerWidget",
        {
            "markupsNodeChanged()",
            "activeMarkupsPlaceModeChanged(bool)",
            "currentMarkupsControlPointSelectionChanged(int)",
            "updateFinished()",
        },
        {
            "currentNode",
            "setCurrentNode",
            "setNodeBaseName",
            "nodeSelectorVisible",
            "optionsVisible",
            "enterPlaceModeOnNodeChange",
            "jumpToSliceEnabled",
            "tableWidget",
            "placeActive",
        },
    ),
}
SLOTS = {  # the slots the .ui's <connections> may name
    "qMRMLNodeComboBox": {"setMRMLScene(vtkMRMLScene*)"},
    "qMRMLTableView": {"setMRMLScene(vtkMRMLScene*)"},
    "qSlicerWidget": {"setMRMLScene(vtkMRMLScene*)"},
    "qMRMLWidget": {"setMRMLScene(vtkMRMLScene*)"},
    "qSlicerSimpleMarkupsWidget": {"setCurrentNode(vtkMRMLNode*)"},
}

# --- Slicer's GUI connectors: widget class -> the parameter kinds it can represent -------------
# guiConnectors.py (Slicer/Slicer 113c6bd0fb9f): QCheckBoxToBoolConnector, QCheckablePushButtonToBoolConnector,
# QSliderOrSpinBoxToIntConnector, QDoubleSpinBoxCtkSliderWidgetToFloatConnector (ctkSliderWidget needs
# WithinRange or Minimum+Maximum), QComboBoxToStringableConnector (needs Choice), QComboBoxToEnumConnector,
# QLineEditToStrConnector, QTextEditPlainTextToStrConnector, ctkRangeWidgetToRangeConnector,
# ctkPathLineEditToPathConnector, ctkDirectoryButtonToPathConnector, qMRMLNodeComboBoxToNodeConnector,
# qMRMLSubjectHierarchyTreeViewToNodeConnector.
CONNECTORS = {
    "QCheckBox": {"bool"},
    "QPushButton": {"bool"},
    "QSlider": {"int+range"},
    "QSpinBox": {"int", "int+range"},
    "QDoubleSpinBox": {"float", "float+range"},
    "ctkSliderWidget": {"float+range"},
    "QComboBox": {"str+choice", "int+choice", "float+choice", "bool+choice", "enum"},
    "QLineEdit": {"str", "str+choice"},
    "QTextEdit": {"str", "str+choice"},
    "ctkRangeWidget": {"FloatRange+bounds"},
    "ctkPathLineEdit": {"path"},
    "ctkDirectoryButton": {"path"},
    "qMRMLNodeComboBox": {"node"},
    "qMRMLSubjectHierarchyTreeView": {"node"},
}


def _signature(text: str) -> str:
    return text.replace(" ", "")


def _class_chain(name: str) -> list[str]:
    chain = []
    while name is not None:
        chain.append(name)
        name = WIDGETS[name][0]
    return chain


def class_signals(name: str) -> set[str]:
    return set().union(*(WIDGETS[c][1] for c in _class_chain(name)))


def class_members(name: str) -> set[str]:
    members = set().union(*(WIDGETS[c][2] for c in _class_chain(name)))
    return members | {signal.split("(")[0] for signal in class_signals(name)}


def class_slots(name: str) -> set[str]:
    return set().union(*(SLOTS.get(c, set()) for c in _class_chain(name)))


# --- reading the .ui and the module source -------------------------------------------------------


def ui_widgets(ui_file: Path = UI_FILE) -> dict[str, str]:
    """objectName -> class of every widget in the .ui."""
    tree = ElementTree.parse(ui_file)
    return {widget.get("name"): widget.get("class") for widget in tree.iter("widget")}


def ui_bindings(ui_file: Path = UI_FILE) -> dict[str, str]:
    """objectName -> SlicerParameterName."""
    tree = ElementTree.parse(ui_file)
    bound = {}
    for widget in tree.iter("widget"):
        for prop in widget.findall("property"):
            if prop.get("name") == "SlicerParameterName":
                bound[widget.get("name")] = prop.find("string").text
    return bound


def ui_properties(ui_file: Path = UI_FILE) -> list[tuple[str, str]]:
    """(objectName, property) for every standard property the .ui sets (dynamic ones are left out)."""
    tree = ElementTree.parse(ui_file)
    return [
        (widget.get("name"), prop.get("name"))
        for widget in tree.iter("widget")
        for prop in widget.findall("property")
        if prop.get("stdset") != "0"
    ]


def ui_connections(ui_file: Path = UI_FILE) -> list[tuple[str, str, str, str]]:
    tree = ElementTree.parse(ui_file)
    return [
        (c.findtext("sender"), _signature(c.findtext("signal")), c.findtext("receiver"), _signature(c.findtext("slot")))
        for c in tree.iter("connection")
    ]


def _ui_chain(node) -> list[str] | None:
    """For `self.ui.a.b.c` the list ['a', 'b', 'c']; None for anything else."""
    names = []
    while isinstance(node, ast.Attribute):
        names.insert(0, node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id == "self" and names[:1] == ["ui"]:
        return names[1:]
    return None


def module_ui_uses(source: str) -> tuple[dict[str, set[str]], list[tuple[str, str]]]:
    """Members touched per widget name, and (widget name, signal signature) connections."""
    members: dict[str, set[str]] = {}
    connections = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute):
            chain = _ui_chain(node)
            if chain:
                members.setdefault(chain[0], set())
                if len(chain) > 1:
                    members[chain[0]].add(chain[1])
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "connect":
            chain = _ui_chain(node.func.value)
            if chain and len(chain) == 1 and node.args and isinstance(node.args[0], ast.Constant):
                connections.append((chain[0], _signature(node.args[0].value)))
            elif chain and len(chain) == 2:
                connections.append((chain[0], chain[1]))  # `.signal.connect(...)`: any overload
    return members, connections


def _parameter_kind(annotation) -> str:
    """The connector kind of a parameter node field annotation (see CONNECTORS)."""
    if isinstance(annotation, ast.Subscript) and getattr(annotation.value, "id", None) == "Annotated":
        base, *extras = annotation.slice.elts
        kind = _parameter_kind(base)
        extra_names = {
            getattr(extra.func, "id", getattr(extra.func, "attr", None))
            for extra in extras
            if isinstance(extra, ast.Call)
        }
        if "Choice" in extra_names:
            return f"{kind}+choice"
        if "WithinRange" in extra_names or {"Minimum", "Maximum"} <= extra_names:
            return f"{kind}+range"
        return kind
    text = ast.unparse(annotation)
    if text.startswith(("slicer.vtkMRML", "vtkMRML")):
        return "node"
    if text in ("str", "int", "float", "bool"):
        return text
    if text in ("Path", "pathlib.Path"):
        return "path"
    return text


def parameter_fields(source: str, class_name: str = "RenalMassAIParameterNode") -> dict[str, str]:
    """Field name -> connector kind, from the typed parameter node class of the module."""
    tree = ast.parse(source)
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == class_name)
    return {item.target.id: _parameter_kind(item.annotation) for item in node.body if isinstance(item, ast.AnnAssign)}


# --- the checks, as functions returning problems (so the test can show they catch a broken .ui) --


def binding_problems(widgets: dict[str, str], bindings: dict[str, str], fields: dict[str, str]) -> list[str]:
    problems = []
    for name, parameter in bindings.items():
        if parameter not in fields:
            problems.append(f"{name}: SlicerParameterName {parameter!r} is not a parameter node field")
            continue
        cls, kind = widgets[name], fields[parameter]
        if kind not in CONNECTORS.get(cls, set()):
            problems.append(f"{name}: no Slicer GUI connector binds a {cls} to {parameter} ({kind})")
    return problems


def usage_problems(widgets: dict[str, str], members: dict[str, set[str]], connections) -> list[str]:
    problems = []
    for name, used in members.items():
        if name not in widgets:
            problems.append(f"self.ui.{name} is not a widget of {UI_FILE.name}")
            continue
        if widgets[name] not in WIDGETS:
            problems.append(f"{name}: widget class {widgets[name]} is not in the test's class table")
            continue
        for member in sorted(used - class_members(widgets[name])):
            problems.append(f"self.ui.{name}.{member}: {widgets[name]} has no such member")
    for name, signal in connections:
        if name not in widgets or widgets[name] not in WIDGETS:
            continue  # reported above
        signals = class_signals(widgets[name])
        known = signals if "(" in signal else {s.split("(")[0] for s in signals}
        if signal not in known:
            problems.append(f"self.ui.{name}: {widgets[name]} has no signal {signal}")
    return problems


def connection_problems(widgets: dict[str, str], connections) -> list[str]:
    problems = []
    for sender, signal, receiver, slot in connections:
        for name in (sender, receiver):
            if name not in widgets:
                problems.append(f"<connection>: no widget {name}")
        if sender in widgets and signal not in class_signals(widgets[sender]):
            problems.append(f"<connection>: {widgets[sender]} {sender} has no signal {signal}")
        if receiver in widgets and slot not in class_slots(widgets[receiver]):
            problems.append(f"<connection>: {widgets[receiver]} {receiver} has no slot {slot}")
    return problems


@pytest.fixture(scope="module")
def source() -> str:
    return MODULE_FILE.read_text()


def test_every_widget_class_of_the_ui_is_in_the_table():
    assert set(ui_widgets().values()) <= set(WIDGETS)


def test_every_parameter_binding_has_a_slicer_gui_connector(source):
    fields = parameter_fields(source)
    bindings = ui_bindings()
    assert binding_problems(ui_widgets(), bindings, fields) == []
    # Every field is on screen except the outputs the scene glue fills in (VOI box, results table).
    assert set(bindings.values()) == set(fields) - {"voi", "resultsTable"}


def test_every_widget_member_and_signal_the_module_uses_exists(source):
    members, connections = module_ui_uses(source)
    assert members, "the module should use its widgets through self.ui"
    assert usage_problems(ui_widgets(), members, connections) == []


def test_every_property_the_ui_sets_exists_on_its_widget_class():
    widgets = ui_widgets()
    assert [(name, prop) for name, prop in ui_properties() if prop not in class_members(widgets[name])] == []


def test_every_ui_connection_names_a_real_signal_and_slot():
    assert connection_problems(ui_widgets(), ui_connections()) == []


def test_the_checks_catch_a_markups_widget_bound_to_a_node(source):
    """The defect of the first .ui: qSlicerSimpleMarkupsWidget carrying SlicerParameterName
    tumorCenter, which no connector represents (connectGui raised "Unable to create GUI connector")."""
    widgets = {**ui_widgets(), "centerMarkupsWidget": "qSlicerSimpleMarkupsWidget"}
    problems = binding_problems(widgets, {"centerMarkupsWidget": "tumorCenter"}, parameter_fields(source))
    assert problems == [
        ("centerMarkupsWidget: no Slicer GUI connector binds a qSlicerSimpleMarkupsWidget to tumorCenter (node)")
    ]
    # A combo box without Choice, a slider without a range, a misspelt signal, a missing widget:
    assert binding_problems({"box": "QComboBox"}, {"box": "text"}, {"text": "str"})
    assert binding_problems({"slider": "ctkSliderWidget"}, {"slider": "x"}, {"x": "float"})
    assert usage_problems({"button": "QPushButton"}, {"button": set()}, [("button", "clicked(int)")])
    assert usage_problems({}, {"missingButton": {"enabled"}}, [])
    assert usage_problems({"label": "QLabel"}, {"label": {"value"}}, [])
