"""Where the slices of one DICOM series lie, from their headers alone: order along the slice normal,
gaps (uneven, missing slices), repeated positions and gantry tilt (positions not along the normal).

ITK reads a series as a regular grid whatever the positions say; this analysis is what decides
whether the stack may be read as is, must be regridded (see slice_regrid.py) or is refused.
"""

import dataclasses
import math

import numpy as np

from RenalMassAILib.case.dicom_header import DicomHeader, slice_normal
from RenalMassAILib.errors import InputError

SAME_POSITION_MM = 0.05  # closer than any CT slice spacing: the same slice position written twice
EVEN_TOLERANCE = 0.01  # a gap may differ from the usual one by 1 % ...
EVEN_TOLERANCE_MM = 0.01  # ... or by 0.01 mm (positions are often written with 2-4 decimals)
MAX_BRIDGED_GAP_FACTOR = 2.0  # a gap up to twice the usual (one missing slice) is interpolated across
MAX_BRIDGED_GAP_MM = 5.0  # larger gaps are refused only when they are also wider than this
TILT_OFFSET_MM = 0.05  # in-plane drift of slice positions that counts as a tilted stack


@dataclasses.dataclass(frozen=True)
class SliceStack:
    """The slices of a series sorted along the normal, one per position, and how they lie."""

    headers: tuple[DicomHeader, ...]  # sorted by position along the normal
    repeats: tuple[tuple[DicomHeader, DicomHeader], ...]  # (kept slice, another file at its position)
    row_direction: tuple[float, float, float]
    column_direction: tuple[float, float, float]
    normal: tuple[float, float, float]
    column_spacing: float  # mm between columns (along the row direction)
    row_spacing: float  # mm between rows (along the column direction)
    along_normal: tuple[float, ...]  # mm from the first slice, along the normal
    in_plane: tuple[tuple[float, float], ...]  # mm from the first slice, along row / column direction
    slice_spacing: float  # the usual gap (median), mm
    uneven: bool
    tilt_degrees: float  # from the positions; 0 when they lie along the normal

    @property
    def gaps(self) -> np.ndarray:
        return np.diff(self.along_normal)

    @property
    def tilted(self) -> bool:
        return bool(np.abs(np.asarray(self.in_plane)).max() > TILT_OFFSET_MM)

    def notes(self) -> tuple[str, ...]:
        """What reading will correct, in words for prepare.json."""
        notes = []
        if self.uneven:
            distinct = sorted(set(np.round(self.gaps, 2)))
            shown = distinct if len(distinct) <= 6 else [*distinct[:3], "...", *distinct[-2:]]
            gaps = ", ".join(g if isinstance(g, str) else f"{g:.2f}" for g in shown)
            notes.append(
                f"uneven slice gaps ({gaps} mm; missing slices?): resampled onto a regular "
                f"{self.slice_spacing:.3f} mm grid along the slice normal (linear)"
            )
        header_tilt = self.headers[0].gantry_tilt
        if self.tilted:
            notes.append(
                f"gantry tilt {self.tilt_degrees:.1f} degrees (Gantry/Detector Tilt {header_tilt:g}): "
                "slices shifted in their plane onto a grid orthogonal to them (linear), as dcm2niix does"
            )
        elif abs(header_tilt) > 0:
            notes.append(
                f"Gantry/Detector Tilt {header_tilt:g} degrees, but the slice positions lie along the "
                "slice normal: read as is (the scanner wrote the tilt into the geometry)"
            )
        return tuple(notes)


def analyze_slices(headers: list[DicomHeader], what: str) -> SliceStack:
    """Sorts and checks the slices; refuses what cannot be placed or bridged (InputError)."""
    _check_placeable(headers, what)
    _check_consistent(headers, what)
    first = headers[0]
    row, column = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    row, column = row / np.linalg.norm(row), column / np.linalg.norm(column)  # written with few decimals
    normal = slice_normal(first.orientation)
    ordered = sorted(headers, key=lambda h: (float(np.dot(h.position, normal)), h.instance_number or 0, h.path))
    kept, repeats = _merge_repeated_positions(ordered, normal)
    if len(kept) < 2:
        raise InputError(
            f"{what}: a single slice position is not a 3D volume; give the folder holding the whole series"
        )
    origin = np.array(kept[0].position)
    offsets = np.array([np.array(h.position) - origin for h in kept])
    along = offsets @ normal
    in_plane = np.stack([offsets @ row, offsets @ column], axis=1)
    gaps = np.diff(along)
    usual = float(np.median(gaps))
    uneven = bool(np.any(np.abs(gaps - usual) > max(EVEN_TOLERANCE * usual, EVEN_TOLERANCE_MM)))
    _check_bridgeable(gaps, usual, along, what)
    tilt = math.degrees(math.atan2(float(np.linalg.norm(in_plane[-1])), float(along[-1])))
    return SliceStack(
        headers=tuple(kept),
        repeats=tuple(repeats),
        row_direction=tuple(row),
        column_direction=tuple(column),
        normal=tuple(normal),
        column_spacing=first.pixel_spacing[1],
        row_spacing=first.pixel_spacing[0],
        along_normal=tuple(float(a) for a in along),
        in_plane=tuple(map(tuple, in_plane.tolist())),
        slice_spacing=usual,
        uneven=uneven,
        tilt_degrees=tilt,
    )


def _check_placeable(headers: list[DicomHeader], what: str) -> None:
    for header in headers:
        missing = [
            name
            for name, value in (
                ("Image Position (Patient)", header.position),
                ("Image Orientation (Patient)", header.orientation),
                ("Pixel Spacing", header.pixel_spacing),
            )
            if value is None
        ]
        if missing:
            raise InputError(
                f"{what}: file {header.path!r} has no usable {' / '.join(missing)}, so its slice "
                "cannot be placed in space; export the series with its geometry tags"
            )


def _check_consistent(headers: list[DicomHeader], what: str) -> None:
    first = headers[0]
    for header in headers[1:]:
        if np.abs(np.subtract(header.orientation, first.orientation)).max() > 1e-3:
            raise InputError(
                f"{what}: slices with different orientations ({first.path!r} and {header.path!r}); "
                "give a series of parallel slices"
            )
        if (header.rows, header.columns) != (first.rows, first.columns) or np.abs(
            np.subtract(header.pixel_spacing, first.pixel_spacing)
        ).max() > 1e-4:
            raise InputError(
                f"{what}: slices of different sizes or pixel spacings ({first.path!r} and "
                f"{header.path!r}); give one reconstruction per series"
            )


def _merge_repeated_positions(ordered: list[DicomHeader], normal: np.ndarray):
    """Files at one position become one slice; the extra files are returned for a pixel comparison."""
    kept: list[DicomHeader] = []
    repeats: list[tuple[DicomHeader, DicomHeader]] = []
    for header in ordered:
        if kept and np.linalg.norm(np.subtract(header.position, kept[-1].position)) < SAME_POSITION_MM:
            repeats.append((kept[-1], header))
        else:
            kept.append(header)
    return kept, repeats


def _check_bridgeable(gaps: np.ndarray, usual: float, along: np.ndarray, what: str) -> None:
    if gaps.min() < SAME_POSITION_MM:
        k = int(gaps.argmin())
        raise InputError(
            f"{what}: two slices at the same depth {along[k]:.2f} mm along the normal but at "
            "different in-plane positions; give one reconstruction per series"
        )
    too_wide = (gaps > MAX_BRIDGED_GAP_FACTOR * usual * (1 + EVEN_TOLERANCE)) & (gaps > MAX_BRIDGED_GAP_MM)
    if too_wide.any():
        where = ", ".join(f"{gaps[k]:.2f} mm after {along[k]:.2f} mm" for k in np.flatnonzero(too_wide))
        raise InputError(
            f"{what}: slice gap(s) of {where} (along the normal from the first slice) against a usual "
            f"{usual:.2f} mm; slices are missing over more than {MAX_BRIDGED_GAP_FACTOR:g}x the spacing and "
            f"{MAX_BRIDGED_GAP_MM:g} mm, too wide to interpolate; export the complete series"
        )
