"""Grad-CAM maps as volumes, shown as the foreground layer over the phase they explain."""

import SimpleITK as sitk

from RenalMassAILib.scene.volumes import add_volume, set_image

# A heat color table present both in Slicer and in slicer-core.
HEAT_COLOR_NODE_ID = "vtkMRMLColorTableNodeIron"
ZERO_THRESHOLD = 0.1  # weaker Grad-CAM values stay transparent: no tint where the model barely looked
DEFAULT_OPACITY = 0.4


def heatmap_name(task: str, phase: str) -> str:
    return f"Grad-CAM {task} {phase}"


def set_heatmap(scene, image: sitk.Image, task: str, phase: str):
    """Creates or updates the heat-map volume of one task and phase (values in [0, 1])."""
    name = heatmap_name(task, phase)
    node = scene.GetFirstNodeByName(name)
    if node is None:
        node = add_volume(scene, sitk.Cast(image, sitk.sitkFloat32), name)
        node.SetAttribute("RenalMassAI.role", "gradcam")
        _style(node.GetDisplayNode())
    else:
        set_image(node, sitk.Cast(image, sitk.sitkFloat32))
    return node


def _style(display) -> None:
    display.SetAndObserveColorNodeID(HEAT_COLOR_NODE_ID)
    display.AutoWindowLevelOff()
    display.SetWindowLevelMinMax(0.0, 1.0)
    display.AutoThresholdOff()
    display.SetLowerThreshold(ZERO_THRESHOLD)
    display.SetUpperThreshold(1.0)
    display.ApplyThresholdOn()
    display.SetInterpolate(True)


def show_overlay(slice_composites, background_node, heat_node, opacity: float = DEFAULT_OPACITY) -> None:
    """Phase image as background, its heat map as foreground, in every given slice composite node."""
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"overlay opacity must be within 0..1, got {opacity}")
    for composite in slice_composites:
        composite.SetBackgroundVolumeID(background_node.GetID())
        composite.SetForegroundVolumeID(heat_node.GetID() if heat_node is not None else None)
        composite.SetForegroundOpacity(opacity)


def set_overlay_opacity(slice_composites, opacity: float) -> None:
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"overlay opacity must be within 0..1, got {opacity}")
    for composite in slice_composites:
        composite.SetForegroundOpacity(opacity)
