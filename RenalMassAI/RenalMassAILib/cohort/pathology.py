"""The paper's pathology taxonomy: a pathology record -> benign / indolent / aggressive /
indeterminate (or excluded), with the reason (Xiong et al. 2025, Table 1 and Methods).

- ccRCC is aggressive with any of: WHO/ISUP grade 3-4, coagulative necrosis, sarcomatoid
  differentiation, invasion of major veins or perinephric tissue (pT3+); otherwise indolent.
- Papillary RCC likewise, except that necrosis does not count.
- Any subtype with sarcomatoid differentiation is aggressive; rhabdoid differentiation is grade 4.
- ccRCC / papillary RCC without a grade and without an aggressive feature are indeterminate
  (malignant; left out of the aggressiveness task).
- Urothelial carcinoma, lymphoma and metastases lie outside the taxonomy, and the paper excluded
  papillary adenoma and renomedullary interstitial cell tumor: all are reported as excluded.
- A subtype the taxonomy does not name (KiTS "other", "spindle_cell_neoplasm") is placed by the
  source's malignant flag where one is given: benign, or malignant with unknown aggressiveness
  (indeterminate); without the flag it is excluded. A flag that disagrees with a named subtype is
  noted in the reason; the subtype decides.
"""

import dataclasses
import re

BENIGN = "benign"
INDOLENT = "indolent"
AGGRESSIVE = "aggressive"
INDETERMINATE = "indeterminate"
EXCLUDED = "excluded"

# canonical subtype -> its class when no grade-dependent rule applies
_FIXED = {
    "angiomyolipoma": BENIGN,
    "complex renal cyst": BENIGN,
    "oncocytoma": BENIGN,
    "adult cystic nephroma": BENIGN,
    "mixed epithelial and stromal tumor": BENIGN,
    "metanephric adenoma": BENIGN,
    "leiomyoma": BENIGN,
    "haemangioma": BENIGN,
    "schwannoma": BENIGN,
    "juxtaglomerular cell tumor": BENIGN,
    "inflammation": BENIGN,
    "hematoma": BENIGN,
    "chromophobe rcc": INDOLENT,
    "clear cell papillary renal cell tumor": INDOLENT,
    "multilocular cystic renal neoplasm of low malignant potential": INDOLENT,
    "sdh-deficient rcc": INDOLENT,
    "mucinous tubular and spindle cell carcinoma": INDOLENT,
    "tubulocystic rcc": INDOLENT,
    "nephroblastoma": INDOLENT,
    "epithelioid angiomyolipoma": INDOLENT,
    "solitary fibrous tumor": INDOLENT,
    "other oncocytic tumor": INDOLENT,
    "well-differentiated neuroendocrine tumor": INDOLENT,
    "tfe3-rearranged rcc": AGGRESSIVE,
    "rcc unclassified": AGGRESSIVE,
    "collecting duct carcinoma": AGGRESSIVE,
    "renal medullary carcinoma": AGGRESSIVE,
    "sarcoma": AGGRESSIVE,
}
_GRADED = ("clear cell rcc", "papillary rcc")
_OUTSIDE = {
    "urothelial carcinoma": "outside the taxonomy (urothelial carcinoma)",
    "lymphoma": "outside the taxonomy (lymphoma)",
    "metastasis": "outside the taxonomy (metastasis)",
    "papillary adenoma": "excluded by the paper (papillary adenoma)",
    "renomedullary interstitial cell tumor": "excluded by the paper (renomedullary interstitial cell tumor)",
}

# common spellings (WHO 2022, TCGA, KiTS) -> canonical subtype
_ALIASES = {
    "clear cell rcc": (
        "ccrcc",
        "clear_cell_rcc",
        "clear cell renal cell carcinoma",
        "kirc",
        "conventional rcc",
        "clear cell carcinoma",
    ),
    "papillary rcc": (
        "papillary",
        "prcc",
        "papillary renal cell carcinoma",
        "kirp",
        "papillary rcc type 1",
        "papillary rcc type 2",
    ),
    "chromophobe rcc": ("chromophobe", "chrcc", "chromophobe renal cell carcinoma", "kich"),
    "angiomyolipoma": ("aml", "angiomyolipoma", "fat-poor aml", "classic aml"),
    "oncocytoma": ("oncocytoma", "renal oncocytoma"),
    "clear cell papillary renal cell tumor": (
        "clear_cell_papillary_rcc",
        "clear cell papillary rcc",
        "clear cell papillary renal cell carcinoma",
        "ccprcc",
    ),
    "multilocular cystic renal neoplasm of low malignant potential": (
        "multilocular_cystic_rcc",
        "multilocular cystic rcc",
        "mcrnlmp",
    ),
    "mixed epithelial and stromal tumor": ("mest", "mixed epithelial stromal tumor"),
    "adult cystic nephroma": ("cystic nephroma",),
    "complex renal cyst": ("complex cyst", "renal cyst", "cyst"),
    "collecting duct carcinoma": ("collecting_duct_undefined", "collecting duct rcc", "bellini duct carcinoma"),
    "rcc unclassified": (
        "rcc_unclassified",
        "rcc nos",
        "unclassified rcc",
        "renal cell carcinoma nos",
        "renal cell carcinoma, unclassified",
    ),
    "tfe3-rearranged rcc": ("xp11 translocation rcc", "tfe3 rcc", "translocation rcc", "mit family translocation rcc"),
    "nephroblastoma": ("wilms", "wilms tumor"),
    "sdh-deficient rcc": ("sdh deficient rcc", "succinate dehydrogenase-deficient rcc"),
    "urothelial carcinoma": ("urothelial", "transitional cell carcinoma", "upper tract urothelial carcinoma"),
    "metastasis": ("metastatic", "metastases", "metastatic carcinoma"),
    "sarcoma": ("leiomyosarcoma", "rhabdomyosarcoma", "synovial sarcoma", "ewing sarcoma", "ewing", "angiosarcoma"),
    "haemangioma": ("hemangioma",),
    "hematoma": ("haematoma",),
    "epithelioid angiomyolipoma": ("epithelioid aml",),
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower().replace("tumour", "tumor")).strip()


_LOOKUP = {_key(alias): canonical for canonical, aliases in _ALIASES.items() for alias in aliases}
_LOOKUP.update({_key(name): name for name in [*_FIXED, *_GRADED, *_OUTSIDE]})


@dataclasses.dataclass(frozen=True)
class PathologyRecord:
    subtype: str
    isup_grade: int | None = None
    necrosis: bool | None = None
    sarcomatoid: bool | None = None
    rhabdoid: bool | None = None
    t_stage: str | None = None  # '1a', 'pT3a', 'T3b' ...
    venous_invasion: bool | None = None
    perinephric_invasion: bool | None = None
    malignant: bool | None = None  # the source's own benign / malignant flag (KiTS: malignant)


@dataclasses.dataclass(frozen=True)
class Classification:
    pathology_class: str
    reason: str
    subtype: str  # canonical name, or the text given when unknown


def normalise_subtype(text: str) -> str | None:
    return _LOOKUP.get(_key(text or ""))


def classify(record: PathologyRecord) -> Classification:
    result = _classify_by_rules(record)
    conflict = _malignant_flag_conflict(record, result)
    if conflict:
        return dataclasses.replace(result, reason=f"{result.reason}; {conflict}")
    return result


def _classify_by_rules(record: PathologyRecord) -> Classification:
    subtype = normalise_subtype(record.subtype)
    if subtype is None:
        return _unnamed_subtype(record)
    if subtype in _OUTSIDE:
        return Classification(EXCLUDED, _OUTSIDE[subtype], subtype)
    grade = 4 if record.rhabdoid else record.isup_grade
    if record.sarcomatoid:
        return Classification(AGGRESSIVE, "sarcomatoid differentiation", subtype)
    if subtype not in _GRADED:
        return Classification(_FIXED[subtype], subtype, subtype)
    features = []
    if grade is not None and grade >= 3:
        features.append(f"ISUP grade {grade}" + (" (rhabdoid)" if record.rhabdoid else ""))
    if record.necrosis and subtype == "clear cell rcc":
        features.append("coagulative necrosis")
    if _t3_or_more(record.t_stage):
        features.append(f"pT{_stage(record.t_stage)}")
    if record.venous_invasion:
        features.append("major vein invasion")
    if record.perinephric_invasion:
        features.append("perinephric invasion")
    if features:
        return Classification(AGGRESSIVE, f"{subtype} with " + ", ".join(features), subtype)
    if grade is None:
        return Classification(INDETERMINATE, f"{subtype} without ISUP grade or aggressive feature", subtype)
    unknown = _features_not_given(record, subtype)
    return Classification(
        INDOLENT,
        f"{subtype}, ISUP grade {grade}, no aggressive feature"
        + (f" (not given: {', '.join(unknown)})" if unknown else ""),
        subtype,
    )


def _unnamed_subtype(record: PathologyRecord) -> Classification:
    text = record.subtype.strip()
    named = f"subtype {text!r} is not in the paper's taxonomy" if text else "no subtype given"
    if record.malignant is True:
        return Classification(
            INDETERMINATE, f"{named}; the source marks it malignant: counted for malignancy only", text
        )
    if record.malignant is False:
        return Classification(BENIGN, f"{named}; the source marks it benign", text)
    return Classification(EXCLUDED, f"{named} and no malignant flag" if text else named, text)


def _malignant_flag_conflict(record: PathologyRecord, result: Classification) -> str | None:
    if record.malignant is None or result.pathology_class == EXCLUDED or normalise_subtype(record.subtype) is None:
        return None
    if (result.pathology_class != BENIGN) != record.malignant:
        return f"the source's malignant={str(record.malignant).lower()} disagrees with the subtype, which decides"
    return None


def _features_not_given(record: PathologyRecord, subtype: str) -> list[str]:
    """The aggressive features a graded subtype's 'indolent' rests on without their being recorded."""
    unknown = []
    if record.necrosis is None and subtype == "clear cell rcc":
        unknown.append("necrosis")
    if record.sarcomatoid is None:
        unknown.append("sarcomatoid")
    if record.t_stage is None and record.venous_invasion is None and record.perinephric_invasion is None:
        unknown.append("pT stage")
    return unknown


def _stage(text: str | None) -> str:
    return re.sub(r"^(p|yp)?t", "", (text or "").strip().lower())


def _t3_or_more(text: str | None) -> bool:
    stage = _stage(text)
    return bool(stage) and stage[0].isdigit() and int(stage[0]) >= 3
