"""The two preprocessing variants of the method as named presets.

A model package records its preset, so a model always sees inputs made the way it was trained.
- authors-code: what the authors' released scripts do: the axial plane through the tumor center,
  a 120 mm field of view resized to 224 x 224 (about 0.536 mm per pixel).
- paper: what the paper's text says: the axial plane of largest tumor area, 0.625 mm pixels,
  224 x 224 (140 mm).
Both clip HU to [-500, 500] and scale to [0, 1].
"""

import dataclasses

SLICE_CHOICES = ("center", "max-area")


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    name: str
    slice_choice: str  # 'center': plane through the center; 'max-area': plane of largest tumor area
    field_of_view_mm: float
    size: int = 224
    hu_window: tuple[float, float] = (-500.0, 500.0)
    outside_hu: float = -1024.0  # value outside the scanned field of view (air): 0 after scaling

    def __post_init__(self):
        if self.slice_choice not in SLICE_CHOICES:
            raise ValueError(f"slice_choice {self.slice_choice!r}: use one of {SLICE_CHOICES}")
        if self.field_of_view_mm <= 0 or self.size < 2 or self.hu_window[0] >= self.hu_window[1]:
            raise ValueError(f"preprocessing {self.name!r}: field of view, size or HU window is invalid")

    @property
    def pixel_mm(self) -> float:
        return self.field_of_view_mm / self.size

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"pixel_mm": self.pixel_mm}

    @classmethod
    def from_dict(cls, values: dict) -> "Preprocessing":
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in values.items() if k in fields}
        values["hu_window"] = tuple(values.get("hu_window", (-500.0, 500.0)))
        return cls(**values)


PRESETS = {
    "authors-code": Preprocessing("authors-code", "center", 120.0),
    "paper": Preprocessing("paper", "max-area", 0.625 * 224),
}


def preset(name: str) -> Preprocessing:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preprocessing {name!r}: use one of {sorted(PRESETS)}") from None
