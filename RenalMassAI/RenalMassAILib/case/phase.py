"""The three CT phases of the method and their names."""

import enum


class Phase(str, enum.Enum):
    NON_CONTRAST = "N"
    ARTERIAL = "A"
    VENOUS = "V"

    @property
    def long_name(self) -> str:
        return {"N": "non-contrast", "A": "arterial", "V": "venous"}[self.value]

    @classmethod
    def parse(cls, text: str) -> "Phase":
        """Accepts 'N', 'A', 'V' or the long names (case-insensitive)."""
        key = text.strip().lower()
        for phase in cls:
            if key in (phase.value.lower(), phase.long_name, phase.long_name.replace("-", "")):
                return phase
        raise ValueError(f"unknown phase {text!r}: use N, A, V or non-contrast, arterial, venous")


# The reference phase is the first present one in this order (the paper registers to arterial).
REFERENCE_ORDER = (Phase.ARTERIAL, Phase.VENOUS, Phase.NON_CONTRAST)
# Canonical order for inputs and reports.
PHASE_ORDER = (Phase.NON_CONTRAST, Phase.ARTERIAL, Phase.VENOUS)
