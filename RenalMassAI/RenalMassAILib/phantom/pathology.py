"""Lesion subtypes the phantom can draw, and the paper's three-class pathology of each.

Classes follow the paper's taxonomy: benign; malignant-indolent; malignant-aggressive (ccRCC with
ISUP grade 3-4 or necrosis; papillary RCC with grade 3-4 - necrosis does not count there).
"""

# subtype -> (label value it gets in the label map, is it malignant)
SUBTYPES = {
    "ccRCC": (2, True),
    "papillary": (2, True),
    "chromophobe": (2, True),
    "oncocytoma": (2, False),
    "fat-poor-AML": (2, False),
    "classic-AML": (2, False),
    "bosniak-1": (3, False),  # simple cyst: KiTS 'cyst'
    "bosniak-2": (3, False),
    "bosniak-2F": (3, False),
    "bosniak-3": (2, True),  # cystic neoplasm: KiTS 'tumor'; drawn as multilocular cystic neoplasm of LMP
    "bosniak-4": (2, True),  # cystic ccRCC with an enhancing nodule
}
CLASSES = ("benign", "indolent", "aggressive")


def pathology_class(subtype: str, grade: int, necrosis: bool) -> str:
    if subtype not in SUBTYPES:
        raise ValueError(f"unknown subtype {subtype!r}: use one of {sorted(SUBTYPES)}")
    if not SUBTYPES[subtype][1]:
        return "benign"
    if subtype in ("ccRCC", "bosniak-4"):
        return "aggressive" if grade >= 3 or necrosis else "indolent"
    if subtype == "papillary":
        return "aggressive" if grade >= 3 else "indolent"
    return "indolent"
