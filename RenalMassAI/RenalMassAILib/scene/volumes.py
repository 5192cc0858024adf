"""SimpleITK images <-> MRML volume nodes. ITK is LPS, MRML is RAS: the flip (present.coordinates) is applied here."""

import numpy as np
import SimpleITK as sitk
from vtkmodules.util import numpy_support
from vtkmodules.vtkCommonDataModel import vtkImageData
from vtkmodules.vtkCommonMath import vtkMatrix4x4

from RenalMassAILib.present.coordinates import LPS_TO_RAS

# Slicer's "CT-Abdomen" window / level preset (HU).
CT_ABDOMEN_WINDOW_LEVEL = (350.0, 40.0)


def ijk_to_ras(image: sitk.Image) -> np.ndarray:
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(3, 3)
    matrix = np.eye(4)
    matrix[:3, :3] = LPS_TO_RAS @ direction @ np.diag(image.GetSpacing())
    matrix[:3, 3] = LPS_TO_RAS @ np.asarray(image.GetOrigin(), dtype=float)
    return matrix


def vtk_matrix(matrix: np.ndarray) -> vtkMatrix4x4:
    result = vtkMatrix4x4()
    for row in range(4):
        for col in range(4):
            result.SetElement(row, col, float(matrix[row, col]))
    return result


def set_image(node, image: sitk.Image) -> None:
    """Puts the voxels and the geometry of a 3D scalar SimpleITK image into a volume node."""
    array = sitk.GetArrayFromImage(image)  # [k, j, i]
    data = vtkImageData()
    data.SetDimensions(image.GetSize())
    flat = numpy_support.numpy_to_vtk(np.ascontiguousarray(array).ravel(), deep=True)
    data.GetPointData().SetScalars(flat)
    node.SetAndObserveImageData(data)
    node.SetIJKToRASMatrix(vtk_matrix(ijk_to_ras(image)))


def add_volume(scene, image: sitk.Image, name: str, labelmap: bool = False):
    node = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode" if labelmap else "vtkMRMLScalarVolumeNode", name)
    set_image(node, image)
    node.CreateDefaultDisplayNodes()
    return node


def add_ct_volume(scene, image: sitk.Image, name: str):
    node = add_volume(scene, sitk.Cast(image, sitk.sitkInt16), name)
    display = node.GetDisplayNode()
    display.SetAndObserveColorNodeID("vtkMRMLColorTableNodeGrey")
    display.AutoWindowLevelOff()
    display.SetWindowLevel(*CT_ABDOMEN_WINDOW_LEVEL)
    return node


def volume_to_image(node) -> sitk.Image:
    """A scalar volume node as a SimpleITK image in LPS (parent transforms are not applied)."""
    if node.GetImageData() is None:
        raise ValueError(f"volume {node.GetName()!r} holds no image data")
    matrix = vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    m = LPS_TO_RAS @ np.array([[matrix.GetElement(r, c) for c in range(4)] for r in range(3)])
    spacing = np.linalg.norm(m[:, :3], axis=0)
    image = sitk.GetImageFromArray(volume_array(node))
    image.SetSpacing(spacing.tolist())
    image.SetDirection((m[:, :3] / spacing).ravel().tolist())
    image.SetOrigin(m[:, 3].tolist())
    return image


def volume_array(node) -> np.ndarray:
    """The voxels of a volume node as numpy [k, j, i] (a copy)."""
    data = node.GetImageData()
    dims = data.GetDimensions()
    return numpy_support.vtk_to_numpy(data.GetPointData().GetScalars()).reshape(dims[::-1]).copy()
