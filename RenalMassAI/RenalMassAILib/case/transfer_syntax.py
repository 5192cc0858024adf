"""Which DICOM pixel encodings give trustworthy HU.

Measured on one real GE CT slice in every syntax (Testing/data/transfer-syntaxes, compared with the
uncompressed file): all lossless syntaxes decode identically; JPEG 2000 (lossy) within 5 HU and
JPEG-LS near-lossless within 1 HU, so they are read with a recorded note; lossy JPEG (baseline and
extended, 8/12 bit) is off by up to 64 HU and GDCM warns that it does not support 12-bit precision,
so it is refused.
"""

from RenalMassAILib.case.dicom_header import DicomHeader
from RenalMassAILib.errors import InputError

_JPEG_LOSSY = {f"1.2.840.10008.1.2.4.{n}" for n in (50, 51, 52, 53, 54, 55, 56, 59, 60, 61, 62, 63, 64)}
_NEAR_LOSSLESS = {
    "1.2.840.10008.1.2.4.81": "JPEG-LS near-lossless",
    "1.2.840.10008.1.2.4.91": "JPEG 2000 (lossy)",
    "1.2.840.10008.1.2.4.203": "HTJ2K (lossy)",
}


def check_pixel_encoding(headers: tuple[DicomHeader, ...] | list[DicomHeader], what: str) -> tuple[str, ...]:
    """Refuses lossy JPEG; returns notes for the other lossy encodings found (empty when lossless)."""
    syntaxes = {h.transfer_syntax for h in headers}
    refused = sorted(syntaxes & _JPEG_LOSSY)
    if refused:
        raise InputError(
            f"{what}: pixels are lossy JPEG compressed (transfer syntax {', '.join(refused)}), which "
            "changes HU by tens of units; export the series uncompressed or losslessly compressed"
        )
    notes = [
        f"pixels {_NEAR_LOSSLESS[s]} compressed (transfer syntax {s}): HU may differ by a few units"
        for s in sorted(syntaxes & set(_NEAR_LOSSLESS))
    ]
    if any(h.lossy_compression for h in headers) and not notes:
        notes.append(
            "Lossy Image Compression (0028,2110) is 01: the pixels were lossy-compressed before; "
            "HU may differ from the scanner's"
        )
    return tuple(notes)
