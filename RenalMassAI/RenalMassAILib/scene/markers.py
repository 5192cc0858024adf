"""The tumor center (a one-point fiducial the radiologist drags) and the VOI box around it."""

from RenalMassAILib.case.alignment import VOI_MM

CENTER_NAME = "Tumor center"
VOI_NAME = "Tumor VOI"


def add_center_fiducial(scene, center_ras, name: str = CENTER_NAME):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    node.CreateDefaultDisplayNodes()
    node.AddControlPoint(*[float(c) for c in center_ras], name)
    node.SetMaximumNumberOfControlPoints(1)  # locked to one point: no second click adds a point
    node.SetFixedNumberOfControlPoints(True)
    display = node.GetDisplayNode()
    display.SetSelectedColor(1.0, 0.3, 0.3)
    display.SetGlyphScale(3.0)
    display.SetTextScale(3.5)
    return node


def clear_center(node) -> None:
    """Removes the center point so that a new one can be placed; still at most one point.

    A fiducial made by `add_center_fiducial` has a fixed number of points, and Markups refuses to
    remove points from such a list (RemoveAllControlPoints does nothing), so that lock goes first.
    """
    node.SetFixedNumberOfControlPoints(False)
    node.RemoveAllControlPoints()
    node.SetMaximumNumberOfControlPoints(1)


def start_placing(markups_logic, node) -> None:
    """One click in a view places the point of `node` (Markups' own place mode, not persistent)."""
    markups_logic.SetActiveList(node)
    markups_logic.StartPlaceMode(False)


def center_of(node) -> tuple[float, float, float]:
    point = [0.0, 0.0, 0.0]
    node.GetNthControlPointPositionWorld(0, point)
    return tuple(point)


def move_center(node, center_ras) -> None:
    node.SetNthControlPointPositionWorld(0, *[float(c) for c in center_ras])


def add_voi_roi(scene, center_ras, size_mm=VOI_MM, name: str = VOI_NAME):
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsROINode", name)
    node.CreateDefaultDisplayNodes()
    node.SetCenter(*[float(c) for c in center_ras])
    node.SetSize(*[float(s) for s in size_mm])
    node.SetLocked(True)  # it follows the center; it is not edited by itself
    display = node.GetDisplayNode()
    display.SetFillOpacity(0.0)
    display.SetSelectedColor(0.3, 0.8, 1.0)
    display.SetPropertiesLabelVisibility(False)
    display.SetHandlesInteractive(False)
    return node
