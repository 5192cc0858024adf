"""Writing a phantom phase as a CT DICOM series (for testing DICOM import and phase detection)."""

import os
from pathlib import Path

import SimpleITK as sitk


def write_dicom_series(image: sitk.Image, folder: str | os.PathLike, series_description: str,
                       contrast_agent: str | None, acquisition_time: str, series_number: int,
                       study_uid: str = "1.2.826.0.1.3680043.10.1462.1", patient_id: str = "PHANTOM") -> Path:
    """One file per slice; geometry in Image Position / Orientation (Patient), HU as int16."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.Cast(image, sitk.sitkInt16)
    direction = image.GetDirection()
    orientation = "\\".join(f"{v:.6f}" for v in (direction[0], direction[3], direction[6],
                                                     direction[1], direction[4], direction[7]))
    series_uid = f"{study_uid}.{series_number}"
    tags = {
        "0008|0060": "CT",
        "0008|0008": "ORIGINAL\\PRIMARY\\AXIAL",
        "0010|0010": "Phantom^Synthetic",
        "0010|0020": patient_id,
        "0020|000d": study_uid,
        "0020|000e": series_uid,
        "0020|0011": str(series_number),
        "0008|103e": series_description,
        "0008|0032": acquisition_time,
        "0008|0031": acquisition_time,
        "0020|0037": orientation,
        "0028|1050": "40",
        "0028|1051": "400",
    }
    if contrast_agent is not None:
        tags["0018|0010"] = contrast_agent
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k in range(image.GetDepth()):
        slice_image = image[:, :, k]
        for key, value in tags.items():
            slice_image.SetMetaData(key, value)
        position = image.TransformIndexToPhysicalPoint((0, 0, k))
        slice_image.SetMetaData("0020|0032", "\\".join(f"{p:.4f}" for p in position))
        slice_image.SetMetaData("0020|0013", str(k + 1))
        slice_image.SetMetaData("0008|0018", f"{series_uid}.{k + 1}")
        writer.SetFileName(str(folder / f"{series_number:03d}_{k + 1:04d}.dcm"))
        writer.Execute(slice_image)
    return folder
