"""Screenshots from the application's own views (inside Slicer), borrowed and then put back.

In Slicer every view node added to the scene makes the layout manager build a (hidden) view widget,
so the offscreen views of views.py, which add their own nodes, must not be used there. Instead the
module hands over the layout's slice views and first 3D view as plain MRML and VTK objects (slice
node and logic, render window, a render callable: what ScreenCapture's `captureImageFromView` uses,
Modules/Scripted/ScreenCapture/ScreenCapture.py), and each borrowed view records what a screenshot
changes (orientation, slice position, field of view, layers, ruler, camera, text actors) and
restores it on `close()`. `LayoutApp.showing_all_views()` shows a layout with all of them while the
screenshots are taken, then the user's layout again.
"""

import contextlib
import dataclasses
from collections.abc import Callable

import numpy as np
import slicer
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonMath import vtkMatrix4x4
from vtkmodules.vtkRenderingCore import vtkWindowToImageFilter

from RenalMassAILib.scene.views import look_from

# Red / Yellow / Green are Slicer's axial / sagittal / coronal views.
LAYOUT_NAME_OF = {"Axial": "Red", "Sagittal": "Yellow", "Coronal": "Green"}


def capture_window(window) -> np.ndarray:
    """The render window's pixels as uint8 RGB [rows, cols, 3], top row first."""
    grab = vtkWindowToImageFilter()
    grab.SetInput(window)
    grab.SetInputBufferTypeToRGB()
    grab.ReadFrontBufferOff()
    grab.Update()
    image = grab.GetOutput()
    cols, rows, _ = image.GetDimensions()
    if cols < 2 or rows < 2:
        raise RuntimeError(f"the view is not shown ({cols} x {rows} pixels): nothing to capture")
    pixels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(rows, cols, 3)
    return pixels[::-1].copy()


def _top_renderer(window):
    """The whole-window renderer of the highest layer: text put there is drawn over the image and the
    markups (small-viewport renderers, such as an orientation marker's, are left out)."""
    renderers = window.GetRenderers()
    candidates = [renderers.GetItemAsObject(i) for i in range(renderers.GetNumberOfItems())]
    whole = [r for r in candidates if tuple(round(v, 6) for v in r.GetViewport()) == (0.0, 0.0, 1.0, 1.0)]
    return max(whole or candidates, key=lambda renderer: renderer.GetLayer())


class _BorrowedView:
    def __init__(self, window, render: Callable[[], None]):
        self.window = window
        self._render = render
        self.overlay = _top_renderer(window)
        props = self.overlay.GetViewProps()
        self._props_before = {props.GetItemAsObject(i) for i in range(props.GetNumberOfItems())}

    def render(self) -> None:
        self._render()

    def capture(self) -> np.ndarray:
        self.render()
        return capture_window(self.window)

    def _remove_added_props(self) -> None:
        props = self.overlay.GetViewProps()
        added = [props.GetItemAsObject(i) for i in range(props.GetNumberOfItems())]
        for prop in added:
            if prop not in self._props_before:
                self.overlay.RemoveViewProp(prop)


class BorrowedSliceView(_BorrowedView):
    """A layout slice view set up for one screenshot (the SliceView interface screenshots.py uses)."""

    def __init__(self, node, logic, window, render: Callable[[], None]):
        super().__init__(window, render)
        self.node, self.logic = node, logic
        self.composite = logic.GetSliceCompositeNode()
        self._saved_slice = (
            node.GetOrientationString(),
            _copy(node.GetSliceToRAS()),
            node.GetFieldOfView(),
            node.GetXYZOrigin(),
            node.GetRulerType(),
            node.GetRulerColor(),
        )
        self._saved_layers = (
            self.composite.GetBackgroundVolumeID(),
            self.composite.GetForegroundVolumeID(),
            self.composite.GetForegroundOpacity(),
        )

    def set_orientation(self, orientation: str) -> None:
        self.node.SetOrientation(orientation)

    def zoom_to(self, ras, field_of_view_mm: float) -> None:
        """Centers the view on a point and shows `field_of_view_mm` across its shorter side."""
        self.node.JumpSliceByCentering(*[float(c) for c in ras])
        cols, rows = self.window.GetSize()
        shorter = max(1, min(cols, rows))
        self.node.SetFieldOfView(
            field_of_view_mm * cols / shorter, field_of_view_mm * rows / shorter, self.node.GetFieldOfView()[2]
        )

    def close(self) -> None:
        self._remove_added_props()
        orientation, slice_to_ras, field_of_view, origin, ruler_type, ruler_color = self._saved_slice
        self.node.SetOrientation(orientation)
        self.node.GetSliceToRAS().DeepCopy(slice_to_ras)
        self.node.SetFieldOfView(*field_of_view)
        self.node.SetXYZOrigin(*origin)
        self.node.SetRulerType(ruler_type)
        self.node.SetRulerColor(ruler_color)
        self.node.UpdateMatrices()
        background, foreground, opacity = self._saved_layers
        self.composite.SetBackgroundVolumeID(background)
        self.composite.SetForegroundVolumeID(foreground)
        self.composite.SetForegroundOpacity(opacity)
        self.render()


class BorrowedThreeDView(_BorrowedView):
    """A layout 3D view set up for one screenshot (the ThreeDView interface screenshots.py uses)."""

    def __init__(self, node, renderer, window, render: Callable[[], None]):
        super().__init__(window, render)
        self.node, self.renderer = node, renderer
        camera = renderer.GetActiveCamera()
        self._saved_camera = (
            camera.GetPosition(),
            camera.GetFocalPoint(),
            camera.GetViewUp(),
            camera.GetViewAngle(),
            camera.GetParallelScale(),
        )

    def look_from(self, focus_ras, direction_ras, distance_mm: float) -> None:
        look_from(self.renderer, focus_ras, direction_ras, distance_mm)

    def close(self) -> None:
        self._remove_added_props()
        position, focal_point, view_up, view_angle, parallel_scale = self._saved_camera
        camera = self.renderer.GetActiveCamera()
        camera.SetPosition(*position)
        camera.SetFocalPoint(*focal_point)
        camera.SetViewUp(*view_up)
        camera.SetViewAngle(view_angle)
        camera.SetParallelScale(parallel_scale)
        self.renderer.ResetCameraClippingRange()
        self.render()


@dataclasses.dataclass
class SliceViewParts:
    node: object  # vtkMRMLSliceNode
    logic: object  # vtkMRMLSliceLogic
    window: object  # vtkRenderWindow
    render: Callable[[], None]


@dataclasses.dataclass
class ThreeDViewParts:
    node: object  # vtkMRMLViewNode
    renderer: object  # vtkRenderer
    window: object  # vtkRenderWindow
    render: Callable[[], None]


@dataclasses.dataclass
class LayoutApp:
    """What write_screenshots needs (scene, application logic) plus the application's own views."""

    scene: object
    app_logic: object
    slice_views: dict  # layout name (Red, Yellow, Green) -> SliceViewParts
    threed_view: ThreeDViewParts
    layout_node: object | None = None  # vtkMRMLLayoutNode: switched to four-up while capturing
    process_events: Callable[[], None] = lambda: None  # lets the GUI lay out and size the views

    def borrow_slice_view(self, orientation: str) -> BorrowedSliceView:
        parts = self.slice_views[LAYOUT_NAME_OF[orientation]]
        view = BorrowedSliceView(parts.node, parts.logic, parts.window, parts.render)
        view.set_orientation(orientation)
        return view

    def borrow_threed_view(self) -> BorrowedThreeDView:
        parts = self.threed_view
        return BorrowedThreeDView(parts.node, parts.renderer, parts.window, parts.render)

    @contextlib.contextmanager
    def showing_all_views(self):
        """Four-up layout (three slice views and a 3D view) while capturing, then the user's again."""
        arrangement = self.layout_node.GetViewArrangement() if self.layout_node is not None else None
        try:
            if self.layout_node is not None:
                self.layout_node.SetViewArrangement(slicer.vtkMRMLLayoutNode.SlicerLayoutFourUpView)
                self.process_events()
            yield self
        finally:
            if self.layout_node is not None:
                self.layout_node.SetViewArrangement(arrangement)
                self.process_events()


def _copy(matrix) -> vtkMatrix4x4:
    copy = vtkMatrix4x4()
    copy.DeepCopy(matrix)
    return copy
