"""A scene with the module logics that the glue and the views need.

Inside Slicer these exist already (`SceneApp.from_slicer()`); on the slicer-core wheel they are
created here, the way Slicer's core application sets them up.
"""

import dataclasses

import slicer
from vtkmodules.vtkCommonCore import vtkCollection


@dataclasses.dataclass
class SceneApp:
    scene: object
    app_logic: object
    logics: dict = dataclasses.field(default_factory=dict)  # module name -> logic (kept alive here)

    @classmethod
    def create(cls) -> "SceneApp":
        scene = slicer.vtkMRMLScene()
        crosshair = slicer.vtkMRMLCrosshairNode()
        crosshair.SetCrosshairName("default")
        scene.AddNode(crosshair)
        app_logic = slicer.vtkSlicerApplicationLogic()
        app_logic.SetMRMLScene(scene)
        app_logic.GetColorLogic().SetMRMLScene(scene)
        app_logic.GetColorLogic().AddDefaultColorNodes()
        app_logic.SetSliceLogics(vtkCollection())
        app_logic.SetViewLogics(vtkCollection())
        for factory in (
            slicer.vtkMRMLSliceViewDisplayableManagerFactory,
            slicer.vtkMRMLThreeDViewDisplayableManagerFactory,
        ):
            factory.GetInstance().SetMRMLApplicationLogic(app_logic)
        logics = {
            "Volumes": slicer.vtkSlicerVolumesLogic(),
            "Markups": slicer.vtkSlicerMarkupsLogic(),
            "Segmentations": slicer.vtkSlicerSegmentationsModuleLogic(),
            "SubjectHierarchy": slicer.vtkSlicerSubjectHierarchyModuleLogic(),
        }
        for name, logic in logics.items():
            logic.SetMRMLApplicationLogic(app_logic)
            logic.SetMRMLScene(scene)
            app_logic.SetModuleLogic(name, logic)
        slicer.vtkMRMLSliceNode.AddDefaultSliceOrientationPresets(scene, True)
        return cls(scene, app_logic, logics)

    @classmethod
    def from_slicer(cls) -> "SceneApp":
        return cls(slicer.mrmlScene, slicer.app.applicationLogic())
