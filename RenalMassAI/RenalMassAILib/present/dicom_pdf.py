"""The PDF summary as an Encapsulated PDF object (PS3.3 A.45.1) in the source study."""

import datetime
from pathlib import Path

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

from RenalMassAILib import __version__
from RenalMassAILib.present.dicom_identity import Identity
from RenalMassAILib.present.dicom_source import SourceSeries

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"


def build_encapsulated_pdf(
    pdf: Path, source: SourceSeries, identity: Identity, series_uid: str, sop_uid: str, series_number: int
) -> pydicom.Dataset:
    document = Path(pdf).read_bytes()
    now = datetime.datetime.now()
    dataset = pydicom.Dataset()
    dataset.file_meta = _file_meta(sop_uid)
    if "SpecificCharacterSet" in source.first:
        dataset.SpecificCharacterSet = source.first.SpecificCharacterSet
    dataset.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    dataset.SOPInstanceUID = sop_uid
    identity.apply_to(dataset)  # patient and general study modules, exactly as in the source (or de-identified)
    dataset.Modality = "DOC"
    dataset.SeriesInstanceUID = series_uid
    dataset.SeriesNumber = series_number
    dataset.SeriesDescription = "RenalMassAI summary (PDF)"
    dataset.Manufacturer = "RenalMassAI"
    dataset.SoftwareVersions = __version__
    dataset.ConversionType = "WSD"  # workstation: produced by software
    dataset.InstanceNumber = 1
    dataset.ContentDate = now.strftime("%Y%m%d")
    dataset.ContentTime = now.strftime("%H%M%S")
    dataset.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    dataset.BurnedInAnnotation = "YES"  # the page names the patient
    dataset.DocumentTitle = "RenalMassAI summary"
    dataset.ConceptNameCodeSequence = []
    dataset.MIMETypeOfEncapsulatedDocument = "application/pdf"
    dataset.EncapsulatedDocumentLength = len(document)
    # OB values have even length: pad with one zero byte (the length above is the document's own)
    dataset.EncapsulatedDocument = document + (b"\0" if len(document) % 2 else b"")
    return dataset


def _file_meta(sop_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    return meta
