"""Assigning N / A / V to images from their names and DICOM tags.

Evidence, strongest first: words in the series description or file name (after the rules for
body-region and contrast abbreviations below); DICOM Contrast/Bolus Agent (empty or 'none' means
non-contrast); acquisition date and time order among contrast-enhanced series (earlier = arterial,
later = venous). Conflicts are errors, never guesses.
"""

import dataclasses
import datetime
import re

from RenalMassAILib.case.acquisition_time import acquisition_moment
from RenalMassAILib.case.phase import PHASE_ORDER, Phase
from RenalMassAILib.case.reading import ImageSource
from RenalMassAILib.errors import InputError

_WORDS = {
    Phase.NON_CONTRAST: {
        "n",
        "nc",
        "non",
        "noncontrast",
        "noncon",
        "plain",
        "native",
        "unenhanced",
        "pre",
        "precontrast",
        "wo",
        "without",
        "nativ",
        "cminus",
    },
    Phase.ARTERIAL: {"a", "art", "arterial", "arteria", "cortical", "corticomedullary", "cm", "early", "angio", "cta"},
    Phase.VENOUS: {"v", "ven", "venous", "portal", "pv", "portovenous", "nephrographic", "nephro", "np", "parenchymal"},
}
# Phases outside the method: named so they are not mistaken for V.
_OTHER_WORDS = {"delayed", "delay", "excretory", "urographic", "pyelographic", "scout", "topogram", "localizer"}
# Words saying "with contrast" without naming the phase: the acquisition order decides.
_ENHANCED_WORDS = {"cplus", "with", "contrast", "enhanced", "postcontrast"}
_NO_AGENT = {"", "none", "no", "n/a", "na", "nil"}
# Rewrites applied (lower case, in this order) before the text is split into words: abbreviations
# whose letters would otherwise read as phase words ('A/P' is abdomen/pelvis, not arterial).
_REWRITES = (
    (r"\bw/?\s*(?:/|\+|&|and)\s*w/?o\b|\bwith\s+and\s+without\b", " withandwithout "),  # both: says nothing
    (r"\bc\s*/\s*a\s*/\s*p\b", " cap "),  # chest/abdomen/pelvis
    (r"\b(?:a|abd|abdo|abdomen)\s*[/&+]\s*(?:p|pel|pelv|pelvis)\b", " abdpelvis "),
    (r"\bnon[\s-]+contrast\b", " noncontrast "),
    (r"\bw\s*/\s*o\b", " wo "),
    (r"\bw\s*/\s*(?=[a-z\s]|$)", " with "),
    (r"\bc\s*\+", " cplus "),
    (r"\bc\s*-(?![a-z0-9])", " cminus "),
)


@dataclasses.dataclass(frozen=True)
class PhaseAssignment:
    sources: dict[Phase, ImageSource]
    reasons: dict[Phase, str]
    ignored: tuple[tuple[ImageSource, str], ...] = ()


def detect_phases(sources: list[ImageSource]) -> PhaseAssignment:
    assigned: dict[Phase, ImageSource] = {}
    reasons: dict[Phase, str] = {}
    ignored: list[tuple[ImageSource, str]] = []
    enhanced: list[tuple[ImageSource, str]] = []

    def assign(phase: Phase, source: ImageSource, reason: str) -> None:
        if phase in assigned:
            raise InputError(
                f"both {assigned[phase].label()} and {source.label()} look like the {phase.long_name} phase; "
                "assign the phases explicitly (--non-contrast / --arterial / --venous)"
            )
        assigned[phase] = source
        reasons[phase] = reason

    for source in sources:
        words = _words(source.description)
        if words & _OTHER_WORDS:
            ignored.append((source, f"name {source.description!r} names a phase outside N/A/V"))
            continue
        named = [p for p in PHASE_ORDER if words & _WORDS[p]]
        if len(named) == 1:
            assign(named[0], source, f"name {source.description!r}")
        elif words & _ENHANCED_WORDS and not named:
            enhanced.append((source, f"name {source.description!r} says contrast-enhanced"))
        elif source.contrast_agent is not None and source.contrast_agent.lower() in _NO_AGENT:
            assign(Phase.NON_CONTRAST, source, "DICOM Contrast/Bolus Agent is empty")
        elif source.contrast_agent:
            enhanced.append((source, f"DICOM Contrast/Bolus Agent {source.contrast_agent!r}"))
        else:
            ignored.append((source, f"name {source.description!r} and tags say nothing about the phase"))

    _assign_by_acquisition_order(enhanced, assigned, assign, ignored)
    if not assigned:
        raise InputError(
            "no phase could be recognised from "
            + ", ".join(s.label() for s in sources)
            + "; assign the phases explicitly (--non-contrast / --arterial / --venous)"
        )
    return PhaseAssignment(assigned, reasons, tuple(ignored))


def _assign_by_acquisition_order(enhanced, assigned, assign, ignored) -> None:
    """Enhanced series without a phase name: earlier acquisition = arterial, later = venous."""
    free = [p for p in (Phase.ARTERIAL, Phase.VENOUS) if p not in assigned]
    moments = {
        id(s): acquisition_moment(s.acquisition_date, s.acquisition_time, s.acquisition_datetime, s.label())
        for s, _ in enhanced
    }
    timed = [(s, why) for s, why in enhanced if moments[id(s)] is not None]
    dated = all(s.acquisition_date or s.acquisition_datetime for s, _ in timed)

    def key(item) -> datetime.datetime | datetime.time:
        moment = moments[id(item[0])]
        return moment if dated else moment.time()  # without every date, compare times of day only

    timed.sort(key=key)
    if len(timed) > len(free):
        raise InputError(
            f"{len(timed)} contrast-enhanced series ({', '.join(s.label() for s, _ in timed)}) for "
            f"{len(free)} free phase slot(s); assign the phases explicitly"
        )
    for phase, (source, why) in zip(free, timed):
        moment = moments[id(source)]
        when = moment.isoformat(sep=" ") if dated else moment.time().isoformat()
        assign(phase, source, f"contrast-enhanced ({why}), acquisition order ({when})")
    ignored.extend((s, "contrast-enhanced without acquisition time") for s, _ in enhanced if moments[id(s)] is None)


def phase_from_name(name: str) -> Phase | None:
    """The phase a single name (file, series or volume node name) clearly names, else None."""
    words = _words(name)
    if words & _OTHER_WORDS:
        return None
    named = [p for p in PHASE_ORDER if words & _WORDS[p]]
    return named[0] if len(named) == 1 else None


def _words(text: str) -> set[str]:
    lowered = text.lower()
    for pattern, replacement in _REWRITES:
        lowered = re.sub(pattern, replacement, lowered)
    return set(re.split(r"[^a-z0-9]+", lowered)) - {""}
