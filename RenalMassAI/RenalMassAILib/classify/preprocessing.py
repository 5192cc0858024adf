"""The preprocessing variants of the method as named presets.

A model package records its preset, so a model always sees inputs made the way it was trained.
- authors-code: what the authors' released scripts do: the axial plane through the tumor center,
  a 120 mm field of view resized to 224 x 224 (about 0.536 mm per pixel).
- paper: what the paper's text says: the axial plane of largest tumor area, 0.625 mm pixels,
  224 x 224 (140 mm).
- lesion-field: ours; the plane through the center, a field of view of 1.5 times the lesion's largest
  diameter (30 to 120 mm), 224 x 224: the lesion fills a like share of every input (on synthetic
  cohorts a fixed 120 mm field let the network fit the lesion's surroundings; README, "Why the
  classifier does not learn the full mix"). It needs the segmented lesion.
All clip HU to [-500, 500] and scale to [0, 1].
"""

import dataclasses

from RenalMassAILib.errors import InputError

SLICE_CHOICES = ("center", "max-area")


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    name: str
    slice_choice: str  # 'center': plane through the center; 'max-area': plane of largest tumor area
    field_of_view_mm: float  # the field; with lesion_field, the largest one
    size: int = 224
    hu_window: tuple[float, float] = (-500.0, 500.0)
    outside_hu: float = -1024.0  # value outside the scanned field of view (air): 0 after scaling
    lesion_field: float | None = None  # field = lesion_field x the lesion's largest diameter, when set
    min_field_of_view_mm: float = 30.0  # with lesion_field: the field for the smallest lesions

    def __post_init__(self):
        if self.slice_choice not in SLICE_CHOICES:
            raise ValueError(f"slice_choice {self.slice_choice!r}: use one of {SLICE_CHOICES}")
        if self.field_of_view_mm <= 0 or self.size < 2 or self.hu_window[0] >= self.hu_window[1]:
            raise ValueError(f"preprocessing {self.name!r}: field of view, size or HU window is invalid")

    @property
    def pixel_mm(self) -> float:
        """Pixel size of the (largest) field."""
        return self.field_of_view_mm / self.size

    def pixel_mm_for(self, lesion_diameter_mm: float | None) -> float:
        """Pixel size of one case's input: the fixed field's, or the field that follows the lesion."""
        if self.lesion_field is None:
            return self.pixel_mm
        if lesion_diameter_mm is None:
            raise InputError(
                f"preprocessing {self.name!r} sizes its field of view to the lesion and there is no segmented "
                "mass (tumor or cyst) at the center: give a segmentation (or segment the case) for this model"
            )
        field = min(max(self.lesion_field * lesion_diameter_mm, self.min_field_of_view_mm), self.field_of_view_mm)
        return field / self.size

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
    "lesion-field": Preprocessing("lesion-field", "center", 120.0, lesion_field=1.5),
}


def preset(name: str) -> Preprocessing:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preprocessing {name!r}: use one of {sorted(PRESETS)}") from None
