"""Writing a phantom phase as a CT DICOM series (for testing DICOM import, phase detection and the
DICOM results, which need the CT Image IOD's identifiers: Frame of Reference, patient and study)."""

import os
from pathlib import Path

import SimpleITK as sitk


def write_dicom_series(
    image: sitk.Image,
    folder: str | os.PathLike,
    series_description: str,
    contrast_agent: str | None,
    acquisition_time: str,
    series_number: int,
    study_uid: str = "1.2.826.0.1.3680043.10.1462.1",
    patient_id: str = "PHANTOM",
    patient_name: str = "Phantom^Synthetic",
    patient_birth_date: str = "",
    frame_of_reference_uid: str | None = None,
) -> Path:
    """One file per slice; geometry in Image Position / Orientation (Patient), HU as int16.

    The phases of one study share a frame of reference (default: derived from the study UID), as
    the series of one scanner examination do."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image = sitk.Cast(image, sitk.sitkInt16)
    direction = image.GetDirection()
    orientation = "\\".join(
        f"{v:.6f}" for v in (direction[0], direction[3], direction[6], direction[1], direction[4], direction[7])
    )
    series_uid = f"{study_uid}.{series_number}"
    tags = {
        "0008|0060": "CT",
        "0008|0008": "ORIGINAL\\PRIMARY\\AXIAL",
        "0010|0010": patient_name,
        "0010|0020": patient_id,
        "0010|0030": patient_birth_date,
        "0010|0040": "O",
        "0008|0020": "20260101",  # fixed study date and time: the series of a study agree
        "0008|0030": "100000",
        "0008|0050": "PHANTOM-ACC-1",
        "0020|0010": "1",
        "0008|0070": "RenalMassAI phantom",
        "0018|0050": f"{image.GetSpacing()[2]:.4f}",
        "0018|0060": "120",
        "0018|5100": "FFS",
        "0020|0012": "1",
        "0020|0052": frame_of_reference_uid or f"{study_uid}.1000",
        "0020|1040": "",
        "0020|0060": "",  # laterality: empty (type 2C; an abdomen is not a paired part)
        "0028|1052": "0",
        "0028|1053": "1",
        "0028|1054": "HU",
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
