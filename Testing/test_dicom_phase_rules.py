"""Phase detection rules for the series descriptions and times scanners write (synthetic sources)."""

import pytest

from RenalMassAILib.case.phase import Phase
from RenalMassAILib.case.phase_detection import detect_phases, phase_from_name
from RenalMassAILib.case.reading import ImageSource
from RenalMassAILib.errors import InputError


def _series(description, agent=None, time=None, date=None, number=1):
    return ImageSource(
        path=f"/study/S{number}",
        description=description,
        series_uid=f"2.25.{number}",
        dicom_files=(f"/study/S{number}/IM1",),
        contrast_agent=agent,
        acquisition_time=time,
        acquisition_date=date,
    )


@pytest.mark.parametrize(
    "name",
    ["CT A/P 5mm", "CT ABD/PEL 5mm", "CT C/A/P 3mm", "CAP 5.0", "ABD / PELVIS", "CT A&P W/WO", "CT ABDOMEN W/ AND W/O"],
)
def test_body_region_and_combined_names_name_no_phase(name):
    assert phase_from_name(name) is None


@pytest.mark.parametrize(
    "name, phase",
    [
        ("CT A/P W/O 5mm", Phase.NON_CONTRAST),
        ("ABD/PEL C- 5mm", Phase.NON_CONTRAST),
        ("CT A/P without contrast", Phase.NON_CONTRAST),
        ("CT A/P ART 1.25", Phase.ARTERIAL),
        ("C/A/P PV 3mm", Phase.VENOUS),
        ("ABD/PEL C+ nephrographic", Phase.VENOUS),
        ("Arterial 1.0 B30f", Phase.ARTERIAL),
    ],
)
def test_phase_words_around_abbreviations(name, phase):
    assert phase_from_name(name) == phase


def test_c_plus_names_go_by_acquisition_time_with_colons_and_fractions():
    plain = _series("CT A/P 5mm", agent="", time="100000", number=1)
    late = _series("CT A/P C+ 5mm", time="10:02:30.5", number=3)
    early = _series("CT A/P C+ 5mm", time="10:01:05.123456", number=2)
    assignment = detect_phases([late, plain, early])
    assert assignment.sources == {Phase.NON_CONTRAST: plain, Phase.ARTERIAL: early, Phase.VENOUS: late}
    assert "10:01:05.123456" in assignment.reasons[Phase.ARTERIAL]


def test_study_across_midnight_orders_by_date_and_time():
    before = _series("Abdomen", agent="Iohexol", time="235930", date="20261201", number=4)
    after = _series("Abdomen", agent="Iohexol", time="000130", date="20261202", number=5)
    assignment = detect_phases([after, before])
    assert assignment.sources[Phase.ARTERIAL] is before and assignment.sources[Phase.VENOUS] is after
    assert "2026-12-01 23:59:30" in assignment.reasons[Phase.ARTERIAL]


def test_without_dates_times_of_day_decide():
    early = _series("Abdomen", agent="Iohexol", time="0930", number=6)  # HHMM: seconds are optional in TM
    late = _series("Abdomen", agent="Iohexol", time="093115", date="20261201", number=7)
    assignment = detect_phases([late, early])
    assert assignment.sources[Phase.ARTERIAL] is early


@pytest.mark.parametrize(
    "time, date, field",
    [
        ("25:61:00", None, "Acquisition Time"),
        ("10h15", None, "Acquisition Time"),
        ("101500", "2026-13-01", "Acquisition Date"),
    ],
)
def test_unreadable_times_are_one_clear_error(time, date, field):
    bad = _series("Abdomen", agent="Iohexol", time=time, date=date, number=8)
    good = _series("Abdomen", agent="Iohexol", time="101000", date="20261201", number=9)
    with pytest.raises(
        InputError, match=rf"'/study/S8' \(series 'Abdomen'\): DICOM {field} '{time if 'Time' in field else date}'"
    ):
        detect_phases([good, bad])
