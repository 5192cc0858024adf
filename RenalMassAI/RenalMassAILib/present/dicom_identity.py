"""Who the results are about: the patient and study attributes copied from the source series,
exactly as they came in, or replaced when a researcher asks for de-identified outputs."""

import copy
import dataclasses

import pydicom

# Attributes copied into every object (Patient and General Study modules).
PATIENT_STUDY_KEYWORDS = (
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "PatientSex",
    "StudyInstanceUID",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "AccessionNumber",
    "ReferringPhysicianName",
)
# Replaced with the pseudonym (name, ID) or emptied (type 2 attributes of the copied modules).
PSEUDONYM_KEYWORDS = ("PatientName", "PatientID")
EMPTIED_KEYWORDS = ("PatientBirthDate", "AccessionNumber", "ReferringPhysicianName", "StudyID")
# Removed altogether: identifying attributes that highdicom or a viewer may carry along.
REMOVED_KEYWORDS = (
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "PatientAge",
    "PatientAddress",
    "PatientTelephoneNumbers",
    "PatientBirthName",
    "PatientMotherBirthName",
    "InstitutionName",
    "InstitutionAddress",
    "PerformingPhysicianName",
    "OperatorsName",
    "NameOfPhysiciansReadingStudy",
    "RequestingPhysician",
    "IssuerOfPatientID",
)
# (0012,0063) is LO (64 characters): the short form goes into the objects, the long one into dicom_results.json.
DEIDENTIFICATION_METHOD = "RenalMassAI --deidentify: pseudonym; UIDs and dates retained"
DEIDENTIFICATION_DETAILS = (
    "patient name and ID replaced by the pseudonym; birth date, accession number, referring "
    "physician and study ID emptied; other patient names and IDs, age, address, institution "
    "and staff names removed; UIDs and dates retained (the objects stay in the source study)"
)


@dataclasses.dataclass(frozen=True)
class Identity:
    """The patient / study attributes the outputs carry, and whether they were de-identified."""

    attributes: dict  # keyword -> value, as in the source (or replaced)
    deidentified: bool

    def apply_to(self, dataset: pydicom.Dataset) -> None:
        """Writes the attributes into an output object (and the de-identification record)."""
        for keyword, value in self.attributes.items():
            setattr(dataset, keyword, value)
        if self.deidentified:
            for keyword in REMOVED_KEYWORDS:
                if keyword in dataset:
                    delattr(dataset, keyword)
            dataset.PatientIdentityRemoved = "YES"
            dataset.DeidentificationMethod = DEIDENTIFICATION_METHOD

    def text(self, keyword: str) -> str:
        return str(self.attributes.get(keyword) or "")


def identity_of(source: pydicom.Dataset, pseudonym: str | None = None) -> Identity:
    """The source's attributes; with a pseudonym, the de-identified ones."""
    attributes = {keyword: copy.deepcopy(source.get(keyword, "")) for keyword in PATIENT_STUDY_KEYWORDS}
    if pseudonym is None:
        return Identity(attributes, deidentified=False)
    for keyword in PSEUDONYM_KEYWORDS:
        attributes[keyword] = pseudonym
    for keyword in EMPTIED_KEYWORDS:
        attributes[keyword] = ""
    return Identity(attributes, deidentified=True)


def deidentified_copies(headers, identity: Identity) -> list[pydicom.Dataset]:
    """Copies of source headers carrying the identity, for libraries that copy patient data from them."""
    copies = []
    for header in headers:
        dataset = copy.deepcopy(header)
        identity.apply_to(dataset)
        copies.append(dataset)
    return copies
