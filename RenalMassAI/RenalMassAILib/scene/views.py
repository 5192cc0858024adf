"""Offscreen slice and 3D views on a scene, the way Slicer's view widgets build them (without Qt).

Each view is a VTK render window with Slicer's displayable managers (segmentations, markups, ruler,
orientation marker...) and Slicer's interactor style, so synthetic mouse events through the
interactor behave as in the application (a fiducial can be dragged). Rendering is offscreen; on a
headless Linux machine set VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow.
"""

import numpy as np
import slicer
import vtkmodules.vtkRenderingFreeType
import vtkmodules.vtkRenderingOpenGL2  # noqa: F401  (registers the OpenGL render window)
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonCore import vtkCommand
from vtkmodules.vtkInteractionStyle import vtkInteractorStyleUser
from vtkmodules.vtkRenderingCore import (
    vtkActor2D,
    vtkImageMapper,
    vtkRenderer,
    vtkRenderWindow,
    vtkRenderWindowInteractor,
    vtkWindowToImageFilter,
)

SLICE_MANAGERS = (
    "vtkMRMLCrosshairDisplayableManager",
    "vtkMRMLOrientationMarkerDisplayableManager",
    "vtkMRMLRulerDisplayableManager",
    "vtkMRMLSegmentationsDisplayableManager2D",
    "vtkMRMLMarkupsDisplayableManager",
    "vtkMRMLModelSliceDisplayableManager",
)
THREED_MANAGERS = (
    "vtkMRMLCameraDisplayableManager",
    "vtkMRMLViewDisplayableManager",
    "vtkMRMLModelDisplayableManager",
    "vtkMRMLSegmentationsDisplayableManager3D",
    "vtkMRMLMarkupsDisplayableManager",
    "vtkMRMLOrientationMarkerDisplayableManager",
)

MOUSE_EVENTS = (vtkCommand.MouseMoveEvent, vtkCommand.LeftButtonPressEvent, vtkCommand.LeftButtonReleaseEvent)

# Slicer's default slice views (layout name -> orientation).
SLICE_VIEWS = {"Red": "Axial", "Yellow": "Sagittal", "Green": "Coronal"}


class _View:
    def __init__(self, app, factory, managers, size, layers: int = 2):
        """Renderers by layer: the displayable managers draw on layer `layers - 2`, annotations on
        the top layer; slice views put the resliced image below them on layer 0."""
        self.app = app
        self.window = vtkRenderWindow()
        self.window.SetOffScreenRendering(True)
        self.window.SetMultiSamples(0)
        self.window.SetSize(*size)
        self.window.SetNumberOfLayers(layers)
        self.layers = []
        for layer in range(layers):
            renderer = vtkRenderer()
            renderer.SetLayer(layer)
            renderer.SetInteractive(layer == layers - 2)
            self.window.AddRenderer(renderer)
            self.layers.append(renderer)
        self.renderer, self.overlay = self.layers[-2], self.layers[-1]
        self.interactor = vtkRenderWindowInteractor()
        # VTK's default camera style would grab the mouse on button press; Slicer's style handles it.
        self.interactor.SetInteractorStyle(vtkInteractorStyleUser())
        self.interactor.SetRenderWindow(self.window)
        self.interactor.Initialize()
        self.managers = slicer.vtkMRMLDisplayableManagerGroup()
        instance = factory.GetInstance()
        instance.SetMRMLApplicationLogic(app.app_logic)
        for name in managers:
            if not instance.IsDisplayableManagerRegistered(name):
                instance.RegisterDisplayableManager(name)
        self.managers.Initialize(instance, self.renderer)

    def _dispatch_mouse_events_to(self, style) -> None:
        """Mouse events on the interactor go to the displayable managers through Slicer's interactor
        style, as qMRMLSliceView / qMRMLThreeDView forward them in the application."""
        self.style = style
        self._pressed = False
        for event in MOUSE_EVENTS:
            self.interactor.AddObserver(event, self._on_mouse_event)

    def _on_mouse_event(self, interactor, event_name) -> None:
        event = vtkCommand.GetEventIdFromString(event_name)
        x, y = interactor.GetEventPosition()
        data = slicer.vtkMRMLInteractionEventData()
        data.SetType(event)
        data.SetDisplayPosition([x, y])
        data.SetRenderer(self.renderer)
        data.SetAttributesFromInteractor(interactor)
        data.SetMouseMovedSinceButtonDown(self._pressed)
        self._pressed = event != vtkCommand.LeftButtonReleaseEvent and (
            self._pressed or event == vtkCommand.LeftButtonPressEvent
        )
        self.style.DelegateInteractionEventDataToDisplayableManagers(data)
        self.render()

    def render(self) -> None:
        self.managers.RequestRender()
        self.window.Render()

    def capture(self) -> np.ndarray:
        """The rendered view as uint8 RGB [rows, cols, 3], top row first."""
        self.render()
        grab = vtkWindowToImageFilter()
        grab.SetInput(self.window)
        grab.SetInputBufferTypeToRGB()
        grab.ReadFrontBufferOff()
        grab.Update()
        image = grab.GetOutput()
        cols, rows, _ = image.GetDimensions()
        pixels = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars()).reshape(rows, cols, 3)
        return pixels[::-1].copy()

    def close(self) -> None:
        self.interactor.RemoveAllObservers()
        self.managers.SetMRMLDisplayableNode(None)
        self.window.Finalize()


class SliceView(_View):
    def __init__(self, app, name: str = "Red", size=(512, 512), orientation: str | None = None):
        """`name` is the layout name of the slice node (Red, Yellow, Green: Slicer's own views, which
        set their orientation; any other name makes a separate view that leaves the user's alone)."""
        super().__init__(app, slicer.vtkMRMLSliceViewDisplayableManagerFactory, SLICE_MANAGERS, size, layers=3)
        for renderer in self.layers:
            renderer.GetActiveCamera().ParallelProjectionOn()
        self.logic = slicer.vtkMRMLSliceLogic()
        self.logic.SetMRMLApplicationLogic(app.app_logic)
        app.app_logic.GetSliceLogics().AddItem(self.logic)
        self.logic.SetMRMLScene(app.scene)
        self.node = self.logic.AddSliceNode(name)
        self.node.SetOrientation(orientation or SLICE_VIEWS.get(name, "Axial"))
        self.node.SetLayoutName(name)
        self.managers.SetMRMLDisplayableNode(self.node)
        # The resliced image, on the bottom layer (Slicer's light-box renderer manager does this).
        self.image_mapper = vtkImageMapper()
        self.image_mapper.SetColorWindow(255)
        self.image_mapper.SetColorLevel(127.5)
        self.image_actor = vtkActor2D()
        self.image_actor.SetMapper(self.image_mapper)
        self.layers[0].AddViewProp(self.image_actor)
        self._logic_observer = self.logic.AddObserver(vtkCommand.ModifiedEvent, self._update_image)
        self.logic.ResizeSliceNode(*size)
        style = slicer.vtkMRMLSliceViewInteractorStyle()
        style.SetDisplayableManagers(self.managers)
        style.SetSliceLogic(self.logic)
        self._dispatch_mouse_events_to(style)
        self._update_image()

    def close(self) -> None:
        """Detaches the view's slice logic, so the scene no longer calls into this object."""
        self.logic.RemoveObserver(self._logic_observer)
        self.app.app_logic.GetSliceLogics().RemoveItem(self.logic)
        super().close()

    @property
    def composite(self):
        return self.logic.GetSliceCompositeNode()

    def _update_image(self, *_):
        connection = self.logic.GetImageDataConnection()
        if connection is not None:
            self.image_mapper.SetInputConnection(connection)
        self.image_actor.SetVisibility(connection is not None)

    def show(self, background_id: str, foreground_id: str | None = None, opacity: float = 0.0) -> None:
        self.composite.SetBackgroundVolumeID(background_id)
        self.composite.SetForegroundVolumeID(foreground_id)
        self.composite.SetForegroundOpacity(opacity)
        self.logic.FitSliceToBackground()

    def jump_to(self, ras) -> None:
        self.node.JumpSliceByCentering(*[float(c) for c in ras])

    def zoom_to(self, ras, field_of_view_mm: float) -> None:
        """Centres the view on a point and shows `field_of_view_mm` across its shorter side."""
        self.jump_to(ras)
        cols, rows = self.window.GetSize()
        shorter = min(cols, rows)
        self.node.SetFieldOfView(
            field_of_view_mm * cols / shorter, field_of_view_mm * rows / shorter, self.node.GetFieldOfView()[2]
        )

    def ras_to_display(self, ras) -> tuple[float, float]:
        """Where a RAS point appears in this view (pixels from the bottom-left corner)."""
        xy = self.node.GetXYToRAS()
        inverse = np.linalg.inv(np.array([[xy.GetElement(r, c) for c in range(4)] for r in range(4)]))
        point = inverse @ np.append(np.asarray(ras, dtype=float), 1.0)
        return float(point[0]), float(point[1])

    def drag(self, start_xy, end_xy, steps: int = 8) -> None:
        """A left-button drag through the interactor, as a user's mouse would do it."""
        path = np.linspace(start_xy, end_xy, steps + 1)
        self._mouse(vtkCommand.MouseMoveEvent, path[0])
        self._mouse(vtkCommand.LeftButtonPressEvent, path[0])
        for point in path[1:]:
            self._mouse(vtkCommand.MouseMoveEvent, point)
        self._mouse(vtkCommand.LeftButtonReleaseEvent, path[-1])

    def _mouse(self, event, xy) -> None:
        self.interactor.SetEventInformation(round(xy[0]), round(xy[1]), 0, 0)
        self.interactor.InvokeEvent(event)


class ThreeDView(_View):
    def __init__(self, app, size=(512, 512), name: str = "RenalMassAI3D"):
        super().__init__(app, slicer.vtkMRMLThreeDViewDisplayableManagerFactory, THREED_MANAGERS, size)
        self.node = app.scene.AddNewNodeByClass("vtkMRMLViewNode", name)
        self.node.SetLayoutName(name)
        self.node.SetBoxVisible(False)
        self.node.SetAxisLabelsVisible(False)
        self.node.SetBackgroundColor(0, 0, 0)
        self.node.SetBackgroundColor2(0, 0, 0)
        self.managers.SetMRMLDisplayableNode(self.node)
        style = slicer.vtkMRMLThreeDViewInteractorStyle()
        style.SetDisplayableManagers(self.managers)
        self._dispatch_mouse_events_to(style)

    def look_from(self, focus_ras, direction_ras, distance_mm: float) -> None:
        look_from(self.renderer, focus_ras, direction_ras, distance_mm)


def look_from(renderer, focus_ras, direction_ras, distance_mm: float) -> None:
    """Points the renderer's camera at focus_ras from distance_mm along direction_ras, head (S) up."""
    camera = renderer.GetActiveCamera()
    camera.SetFocalPoint(*focus_ras)
    camera.SetPosition(*(np.asarray(focus_ras) + distance_mm * np.asarray(direction_ras, dtype=float)))
    camera.SetViewUp(0, 0, 1)
    renderer.ResetCameraClippingRange()
