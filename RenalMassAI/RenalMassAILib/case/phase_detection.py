"""Assigning N / A / V to images from their names and DICOM tags.

Evidence, strongest first: words in the series description or file name; DICOM Contrast/Bolus
Agent (empty or 'none' means non-contrast); acquisition time order among contrast-enhanced series
(earlier = arterial, later = venous). Conflicts are errors, never guesses.
"""

import dataclasses
import re

from RenalMassAILib.case.phase import PHASE_ORDER, Phase
from RenalMassAILib.case.reading import ImageSource
from RenalMassAILib.errors import InputError

_WORDS = {
    Phase.NON_CONTRAST: {"n", "nc", "non", "noncontrast", "noncon", "plain", "native", "unenhanced",
                         "pre", "precontrast", "wo", "without", "nativ"},
    Phase.ARTERIAL: {"a", "art", "arterial", "arteria", "cortical", "corticomedullary", "cm", "early", "angio", "cta"},
    Phase.VENOUS: {"v", "ven", "venous", "portal", "pv", "portovenous", "nephrographic", "nephro", "np",
                   "parenchymal"},
}
# Phases outside the method: named so they are not mistaken for V.
_OTHER_WORDS = {"delayed", "delay", "excretory", "urographic", "pyelographic", "scout", "topogram", "localizer"}
_NO_AGENT = {"", "none", "no", "n/a", "na", "nil"}


@dataclasses.dataclass(frozen=True)
class PhaseAssignment:
    sources: dict[Phase, ImageSource]
    reasons: dict[Phase, str]
    ignored: tuple[tuple[ImageSource, str], ...] = ()


def detect_phases(sources: list[ImageSource]) -> PhaseAssignment:
    assigned: dict[Phase, ImageSource] = {}
    reasons: dict[Phase, str] = {}
    ignored: list[tuple[ImageSource, str]] = []
    enhanced: list[ImageSource] = []

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
        elif source.contrast_agent is not None and source.contrast_agent.lower() in _NO_AGENT:
            assign(Phase.NON_CONTRAST, source, "DICOM Contrast/Bolus Agent is empty")
        elif source.contrast_agent:
            enhanced.append(source)
        else:
            ignored.append((source, f"name {source.description!r} and tags say nothing about the phase"))

    free = [p for p in (Phase.ARTERIAL, Phase.VENOUS) if p not in assigned]
    timed = sorted((s for s in enhanced if s.acquisition_time), key=lambda s: float(s.acquisition_time))
    if len(timed) > len(free):
        raise InputError(
            f"{len(timed)} contrast-enhanced series ({', '.join(s.label() for s in timed)}) for "
            f"{len(free)} free phase slot(s); assign the phases explicitly"
        )
    for phase, source in zip(free, timed):
        assign(phase, source, f"contrast-enhanced, acquisition order ({source.acquisition_time})")
    ignored.extend((s, "contrast-enhanced without acquisition time") for s in enhanced if not s.acquisition_time)

    if not assigned:
        raise InputError("no phase could be recognised from " + ", ".join(s.label() for s in sources)
                         + "; assign the phases explicitly (--non-contrast / --arterial / --venous)")
    return PhaseAssignment(assigned, reasons, tuple(ignored))


def phase_from_name(name: str) -> Phase | None:
    """The phase a single name (file, series or volume node name) clearly names, else None."""
    words = _words(name)
    if words & _OTHER_WORDS:
        return None
    named = [p for p in PHASE_ORDER if words & _WORDS[p]]
    return named[0] if len(named) == 1 else None


def _words(text: str) -> set[str]:
    lowered = text.lower().replace("non-contrast", "noncontrast").replace("non contrast", "noncontrast")
    lowered = lowered.replace("w/o", "wo")
    return set(re.split(r"[^a-z0-9]+", lowered)) - {""}
