"""When a series was acquired, from DICOM date (DA), time (TM) and date-time (DT) text.

Dates make a study across midnight order right (23:59 before 00:01 of the next day). Accepted
forms: TM 'HHMMSS.ffffff' with minutes/seconds/fraction optional and the old ACR-NEMA 'HH:MM:SS.frac';
DA 'YYYYMMDD' and 'YYYY.MM.DD'; DT 'YYYYMMDDHHMMSS.ffffff' with an optional '+HHMM' offset.
"""

import datetime
import re

from RenalMassAILib.errors import InputError

_TIME = re.compile(r"^(\d{2})(?::?(\d{2})(?::?(\d{2})(?:\.(\d{1,6}))?)?)?$")
_DATE = re.compile(r"^(\d{4})\.?(\d{2})\.?(\d{2})$")
_UNDATED = datetime.date(1900, 1, 1)  # stands for "same, unknown day" when no date is written


def acquisition_moment(
    date: str | None, time: str | None, date_time: str | None, what: str
) -> datetime.datetime | None:
    """The acquisition moment; None when no time is written. Bad text raises InputError naming what."""
    if date_time:
        return _parse_date_time(date_time, what)
    if not time:
        return None
    day = _parse_date(date, what) if date else _UNDATED
    return datetime.datetime.combine(day, _parse_time(time, what, "Acquisition Time"))


def _parse_time(text: str, what: str, field: str) -> datetime.time:
    match = _TIME.match(text.strip())
    hours, minutes, seconds = (int(match.group(g) or 0) for g in (1, 2, 3)) if match else (99, 0, 0)
    if not match or hours > 23 or minutes > 59 or seconds > 60:
        raise InputError(
            f"{what}: DICOM {field} {text!r} is not a time (HHMMSS.frac); "
            "assign the phases explicitly (--non-contrast / --arterial / --venous)"
        )
    micro = int((match.group(4) or "0").ljust(6, "0"))
    return datetime.time(hours, minutes, min(seconds, 59), micro)


def _parse_date(text: str, what: str) -> datetime.date:
    match = _DATE.match(text.strip())
    try:
        return datetime.date(*(int(g) for g in match.groups()))
    except (AttributeError, ValueError):
        raise InputError(
            f"{what}: DICOM Acquisition Date {text!r} is not a date (YYYYMMDD); "
            "assign the phases explicitly (--non-contrast / --arterial / --venous)"
        ) from None


def _parse_date_time(text: str, what: str) -> datetime.datetime:
    bare = re.split(r"[+-]", text.strip(), maxsplit=1)[0]  # the UTC offset is the same within a study
    if len(bare) < 8:
        raise InputError(
            f"{what}: DICOM Acquisition DateTime {text!r} is not a date-time "
            "(YYYYMMDDHHMMSS.frac); assign the phases explicitly"
        )
    day = _parse_date(bare[:8], what)
    time = _parse_time(bare[8:], what, "Acquisition DateTime") if len(bare) > 8 else datetime.time()
    return datetime.datetime.combine(day, time)
