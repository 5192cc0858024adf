"""One DICOM series as a 3D image in HU with geometry taken from the slice positions.

pydicom's headers decide the order and geometry (slice_geometry.py); SimpleITK (GDCM) decodes each
file's pixels and applies its Rescale Slope/Intercept; slice_regrid.py builds the grid. What is
corrected on the way is returned as notes for prepare.json.
"""

import dataclasses
import warnings

import numpy as np
import pydicom
import SimpleITK as sitk
from pydicom.pixels import apply_rescale

from RenalMassAILib.case.dicom_header import DicomHeader
from RenalMassAILib.case.itk_errors import first_line
from RenalMassAILib.case.slice_geometry import SliceStack, analyze_slices
from RenalMassAILib.case.slice_regrid import stack_to_image
from RenalMassAILib.case.transfer_syntax import check_pixel_encoding
from RenalMassAILib.errors import InputError


@dataclasses.dataclass(frozen=True)
class DicomVolume:
    image: sitk.Image
    notes: tuple[str, ...]
    stack: SliceStack


def read_dicom_volume(headers: tuple[DicomHeader, ...], what: str) -> DicomVolume:
    encoding_notes = check_pixel_encoding(headers, what)
    stack = analyze_slices(list(headers), what)
    repeat_notes = _check_repeats(stack, what)
    slices = np.stack([decode_slice(h, what) for h in stack.headers])
    image = stack_to_image(slices, stack)
    return DicomVolume(image, encoding_notes + repeat_notes + stack.notes(), stack)


def decode_slice(header: DicomHeader, what: str) -> np.ndarray:
    """The slice's pixels in HU as a (rows, columns) array: GDCM, else pydicom (files GDCM does not
    recognise, e.g. without the DICOM preamble)."""
    try:
        pixels = sitk.GetArrayFromImage(sitk.ReadImage(header.path))
    except RuntimeError as error:
        pixels = _decode_with_pydicom(header.path)
        if pixels is None:
            raise InputError(f"{what}: file {header.path!r} cannot be decoded: {first_line(error)}") from None
    if pixels.ndim == 3 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.shape != (header.rows, header.columns):
        raise InputError(
            f"{what}: file {header.path!r} decodes to {pixels.shape} pixels, its header says "
            f"{header.rows} x {header.columns}"
        )
    return pixels


def _decode_with_pydicom(path: str) -> np.ndarray | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, force=True)
            hu = apply_rescale(ds.pixel_array, ds)
    except Exception:
        return None
    integral = np.array_equal(hu, np.round(hu)) and np.abs(hu).max(initial=0) < 32768
    return hu.astype(np.int16 if integral else np.float32)


def _check_repeats(stack: SliceStack, what: str) -> tuple[str, ...]:
    """Files repeating a position: identical pixels are de-duplicated, different ones refused."""
    dropped = []
    for kept, repeat in stack.repeats:
        if not np.array_equal(decode_slice(kept, what), decode_slice(repeat, what)):
            position = ", ".join(f"{c:.2f}" for c in kept.position)
            raise InputError(
                f"{what}: files {kept.path!r} and {repeat.path!r} lie at the same position "
                f"({position}) mm with different pixels (two acquisitions in one series?); "
                "give the folder of one of them"
            )
        dropped.append(repeat.path)
    if not dropped:
        return ()
    return (
        f"{len(dropped)} file(s) repeat a slice position with identical pixels and were left out: "
        + ", ".join(repr(p) for p in dropped),
    )
