"""The Slicer module's DICOM results: SEG, SR, secondary captures and PDF in the source study.

A volume loaded through Slicer's DICOM module carries the SOP Instance UIDs of its slices in the
attribute `DICOM.instanceUIDs` (set by Slicer's DICOMScalarVolumePlugin); Slicer's DICOM database
(`slicer.dicomDatabase`, a ctkDICOMDatabase) gives each instance's file with `fileForInstance`.
Those files are the source series the objects reference. A volume loaded from NIfTI / NRRD has no
source study: then only the PDF is written, as on the command line.
"""

from pathlib import Path

from RenalMassAILib.errors import InputError
from RenalMassAILib.present.dicom_results import write_dicom_results
from RenalMassAILib.present.dicom_source import SourceSeries, read_source_files

INSTANCE_UIDS_ATTRIBUTE = "DICOM.instanceUIDs"
DICOM_FOLDER = "dicom"  # inside the module's output folder


def source_series(volume_node, grid, dicom_database) -> SourceSeries | None:
    """The DICOM series `volume_node` was loaded from, or None when it was not loaded from DICOM.

    `grid`: the volume as a SimpleITK image (its slices are matched to the files by position).
    `dicom_database`: Slicer's open DICOM database, or None when there is none."""
    uids = [uid for uid in (volume_node.GetAttribute(INSTANCE_UIDS_ATTRIBUTE) or "").split() if uid != "Unknown"]
    if not uids:
        return None
    what = f"volume {volume_node.GetName()!r}"
    if dicom_database is None:
        raise InputError(
            f"DICOM export: {what} was loaded from DICOM, but Slicer's DICOM database is not open; "
            "open it in the DICOM module and export again"
        )
    files = [dicom_database.fileForInstance(uid) for uid in uids]
    unknown = [uid for uid, path in zip(uids, files) if not path]
    if unknown:
        raise InputError(
            f"DICOM export: {len(unknown)} of the {len(uids)} slices of {what} are not in Slicer's "
            f"DICOM database (e.g. instance {unknown[0]}); import its series again in the DICOM module"
        )
    return read_source_files(files, grid, what)


def write_case_dicom(report_path: Path, reference_node, grid, label_map, out_dir: Path, dicom_database) -> dict:
    """Writes the DICOM results of an exported case into out_dir; returns dicom_results.json's manifest."""
    source = source_series(reference_node, grid, dicom_database)
    return write_dicom_results(report_path, grid, label_map, out_dir, source=source)
