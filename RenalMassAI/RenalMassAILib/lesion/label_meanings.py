"""What the values of a label map mean: which mean kidney, tumor and cyst.

The project's convention is KiTS's (kidney 1, tumor 2, cyst 3). Other maps name their meanings with
`--labels`: either `name=value[+value...]` items separated by commas (`kidney=2+3,tumor=4`; names
kidney, tumor or tumor, cyst; several values per name are joined with `+`, a name may appear once),
or the path of an nnU-Net dataset.json, whose label names give the meanings (`kidney_right`,
`renal_tumor`, KiTS23's region lists: each value takes the most specific region holding it, and a
KiTS23 "masses" value that is not tumor is a cyst). Values not named become background.
"""

import dataclasses
import json
import re
from pathlib import Path

from RenalMassAILib.errors import InputError

KITS_LABELS = {"kidney": 1, "tumor": 2, "cyst": 3}
_NAMES = {"kidney": "kidney", "kidneys": "kidney", "tumor": "tumor", "tumour": "tumor", "cyst": "cyst", "cysts": "cyst"}
_EXAMPLE = "e.g. --labels kidney=2+3,tumor=4, or --labels path/to/dataset.json"


@dataclasses.dataclass(frozen=True)
class LabelMeanings:
    """meaning (kidney / tumor / cyst) -> the label values that mean it in the source map."""

    values: dict[str, tuple[int, ...]]
    given_as: str  # how the meanings were given, for the record

    @classmethod
    def kits(cls) -> "LabelMeanings":
        return cls({name: (value,) for name, value in KITS_LABELS.items()}, "default: kidney 1, tumor 2, cyst 3")

    def value_of(self) -> dict[int, int]:
        """source value -> the project's value (kidney 1, tumor 2, cyst 3)."""
        return {value: KITS_LABELS[name] for name, values in self.values.items() for value in values}

    def to_dict(self) -> dict:
        return {"given_as": self.given_as, "meanings": {name: list(values) for name, values in self.values.items()}}


def parse_label_meanings(text: str) -> LabelMeanings:
    """`--labels` text: `name=value[+value...]` items, or a dataset.json path."""
    text = (text or "").strip()
    if text.lower().endswith(".json") or Path(text).is_file():
        return meanings_from_dataset_json(text)
    values: dict[str, tuple[int, ...]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, numbers = item.partition("=")
        meaning = _NAMES.get(name.strip().lower())
        if meaning is None or not numbers.strip():
            raise InputError(
                f"--labels {text!r}: {item!r} is not name=value with a name among kidney, tumor, cyst ({_EXAMPLE})"
            )
        if meaning in values:
            raise InputError(f"--labels {text!r}: {meaning} is named twice; give several values with + ({meaning}=2+3)")
        values[meaning] = tuple(_label_value(number, text) for number in numbers.split("+"))
    if not values:
        raise InputError(f"--labels {text!r}: names no label ({_EXAMPLE})")
    _check_each_value_once(values, f"--labels {text!r}")
    return LabelMeanings(values, f"--labels {text}")


def meanings_from_dataset_json(path) -> LabelMeanings:
    where = f"--labels dataset.json {str(path)!r}"
    try:
        labels = json.loads(Path(path).read_text()).get("labels")
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as error:
        raise InputError(f"{where}: not a dataset.json ({error})") from None
    if not isinstance(labels, dict):
        raise InputError(f'{where}: has no "labels" object (name -> value)')
    regions = {name: _region_values(value, where, name) for name, value in labels.items()}
    meanings: dict[str, list[int]] = {}
    has_tumor = any(_meaning_of(name) == "tumor" for name in regions)
    for value in sorted({v for values in regions.values() for v in values if v != 0}):
        specific = min((name for name, values in regions.items() if value in values), key=lambda n: len(regions[n]))
        meaning = _meaning_of(specific)
        if meaning == "masses":  # KiTS23: masses = tumor + cyst, so a mass value that is not tumor is a cyst
            meaning = "cyst" if has_tumor else "tumor"
        if meaning:
            meanings.setdefault(meaning, []).append(value)
    if not meanings:
        raise InputError(f"{where}: none of its labels ({', '.join(labels)}) names a kidney, tumor or cyst")
    return LabelMeanings({name: tuple(values) for name, values in meanings.items()}, f"--labels {path}")


def _label_value(text: str, whole: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise InputError(f"--labels {whole!r}: {text.strip()!r} is not a label value ({_EXAMPLE})") from None
    if value <= 0:
        raise InputError(f"--labels {whole!r}: label value {value} is not positive (0 is background)")
    return value


def _check_each_value_once(values: dict[str, tuple[int, ...]], where: str) -> None:
    seen: dict[int, str] = {}
    for name, numbers in values.items():
        for value in numbers:
            if value in seen and seen[value] != name:
                raise InputError(f"{where}: value {value} is named both {seen[value]} and {name}")
            seen[value] = name


def _region_values(value, where: str, name: str) -> set[int]:
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise InputError(f"{where}: label {name!r} has value {value!r}; expected an integer or a list of integers")
    return set(values)


def _meaning_of(name: str) -> str | None:
    """tumor before cyst before kidney: 'renal_tumor' is a tumor, 'kidney_cyst_left' a cyst."""
    words = set(re.split(r"[^a-z]+", name.lower()))
    if words & {"tumor", "tumour", "tumors", "tumours", "neoplasm", "carcinoma"}:
        return "tumor"
    if words & {"cyst", "cysts"}:
        return "cyst"
    if words & {"masses", "mass"}:
        return "masses"
    if words & {"kidney", "kidneys", "parenchyma"}:
        return "kidney"
    return None
