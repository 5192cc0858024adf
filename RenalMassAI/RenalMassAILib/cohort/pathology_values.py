"""Reading one pathology field (ISUP grade, yes/no flag, pT stage) from the many ways sources write it.

Each reader returns the value and, when the text cannot be read, a problem that says what was found
and that it was treated as not given: one odd field must not stop a cohort, and must not pass silently.
Words that mean "not recorded" (empty, null, "na", "nan", "unknown", "x", ...) are simply not given.
"""

import re

NOT_GIVEN = {
    "",
    "na",
    "n/a",
    "nan",
    "none",
    "null",
    "unknown",
    "not_applicable",
    "not applicable",
    "x",
    "nx",
    "tx",
    "not reported",
    "not_reported",
    "missing",
    "-",
}
_TRUE = {"1", "true", "yes", "y", "present", "t", "positive"}
_FALSE = {"0", "false", "no", "n", "absent", "f", "negative"}
_GRADE = re.compile(r"^(?:isup|who|grade|g)?\s*(?:grade)?\s*([1-4])(?:\.0+)?$")
_T_STAGE = re.compile(r"^(?:y?p)?t?([0-4])([abc]?)$")


def is_not_given(value) -> bool:
    return (
        value is None
        or (isinstance(value, float) and value != value)
        or (isinstance(value, str) and value.strip().lower() in NOT_GIVEN)
    )


def read_grade(value, field: str) -> tuple[int | None, str | None]:
    """WHO/ISUP grade 1-4 from 2, 2.0, '2', 'G2', 'grade 2', 'ISUP 2'."""
    if is_not_given(value):
        return None, None
    if isinstance(value, bool):
        return None, f"{field} {value!r} is not a grade 1-4: treated as not given"
    if isinstance(value, (int, float)) and float(value).is_integer() and 1 <= value <= 4:
        return int(value), None
    match = _GRADE.match(str(value).strip().lower())
    if match:
        return int(match.group(1)), None
    return None, f"{field} {value!r} is not a grade 1-4: treated as not given"


def read_flag(value, field: str) -> tuple[bool | None, str | None]:
    """True / False from booleans, 0 / 1 and yes / no words."""
    if is_not_given(value):
        return None, None
    if isinstance(value, bool):
        return value, None
    key = str(value).strip().lower()
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value), None
    if key in _TRUE | _FALSE:
        return key in _TRUE, None
    return None, f"{field} {value!r} is not yes/no: treated as not given"


def read_t_stage(value, field: str) -> tuple[str | None, str | None]:
    """The pathological T stage as '1a', '3', '3b' ... from '1a', 'pT1a', 'T3b', 3."""
    if is_not_given(value):
        return None, None
    if isinstance(value, bool):
        return None, f"{field} {value!r} is not a T stage (0-4, e.g. 1a, pT3b): treated as not given"
    text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    match = _T_STAGE.match(text.strip().lower().replace(" ", ""))
    if match:
        return match.group(1) + match.group(2), None
    return None, f"{field} {value!r} is not a T stage (0-4, e.g. 1a, pT3b): treated as not given"
