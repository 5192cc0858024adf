"""Pixel encodings: every transfer syntax of one real CT slice decodes to the HU of the uncompressed file
(lossless ones exactly, the accepted lossy ones within the tolerance transfer_syntax.py states) or is
refused clearly; a single slice is refused as not a 3D volume; NaN in NIfTI is found in the raw data.

Real files: Testing/data/transfer-syntaxes/ (cornerstoneWADOImageLoader testImages, MIT), one GE chest
CT slice in 10 transfer syntaxes.
"""

from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from pydicom.pixels import apply_rescale

from RenalMassAILib.case.dicom_header import read_header
from RenalMassAILib.case.dicom_volume import decode_slice
from RenalMassAILib.case.transfer_syntax import check_pixel_encoding
from RenalMassAILib.cli import main
from RenalMassAILib.errors import InputError

SYNTAXES = Path(__file__).parent / "data" / "transfer-syntaxes"
REFERENCE = SYNTAXES / "CTImage.dcm"
LOSSLESS = [
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.5",
]
NEAR_LOSSLESS = {"1.2.840.10008.1.2.4.91": 5, "1.2.840.10008.1.2.4.81": 1}  # max |HU error| measured
LOSSY_JPEG = ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"]


def _file(syntax: str) -> Path:
    return next(SYNTAXES.glob(f"*_{syntax}.dcm"))


@pytest.fixture(scope="module")
def reference_hu():
    hu = decode_slice(read_header(str(REFERENCE)), "reference")
    ds = pydicom.dcmread(REFERENCE)  # pydicom's own decoder agrees with GDCM's on the uncompressed file
    assert np.array_equal(hu, apply_rescale(ds.pixel_array, ds))
    assert hu.min() == -3024 and hu.max() == 1378
    return hu


@pytest.mark.parametrize("syntax", LOSSLESS)
def test_lossless_syntaxes_decode_to_identical_hu(syntax, reference_hu):
    header = read_header(str(_file(syntax)))
    assert header.transfer_syntax == syntax
    assert check_pixel_encoding([header], "slice") == ()
    assert np.array_equal(decode_slice(header, "slice"), reference_hu)


@pytest.mark.parametrize("syntax", NEAR_LOSSLESS)
def test_near_lossless_syntaxes_within_tolerance_and_noted(syntax, reference_hu):
    header = read_header(str(_file(syntax)))
    notes = check_pixel_encoding([header], "slice")
    assert len(notes) == 1 and syntax in notes[0] and "HU may differ" in notes[0]
    error = np.abs(decode_slice(header, "slice").astype(float) - reference_hu)
    assert 0 < error.max() <= NEAR_LOSSLESS[syntax]


@pytest.mark.parametrize("syntax", LOSSY_JPEG)
def test_lossy_jpeg_is_refused(syntax):
    header = read_header(str(_file(syntax)))
    with pytest.raises(InputError, match=rf"slice: pixels are lossy JPEG compressed \(transfer syntax {syntax}\)"):
        check_pixel_encoding([header], "slice")


def test_lossy_copies_are_refused_when_given_as_input(capsys, tmp_path):
    main(["prepare", "-A", str(_file(LOSSY_JPEG[0])), "--center-lps", "0", "0", "0", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lossy-compressed copy" in err and LOSSY_JPEG[0] in err


def _fails(capsys, argv, *fragments):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err


def test_single_real_slice_is_not_a_3d_volume(capsys, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", str(REFERENCE), "--center-lps", "0", "0", "0", "--out", str(tmp_path / "o")],
        "arterial image",
        "CTImage.dcm",
        "is not a 3D volume",
    )


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
def test_nan_in_nifti_is_found_in_the_raw_data(capsys, tmp_path, suffix):
    voxels = np.full((20, 20, 10), -1000.0, np.float32)
    voxels[5:15, 5:15, 2:8] = 40.0
    voxels[7, 7, 4] = np.nan
    voxels[0, 0, 0], voxels[-1, -1, -1] = np.nan, np.inf  # the first and last stored voxels
    path = tmp_path / f"venous{suffix}"
    nib.save(nib.Nifti1Image(voxels, np.diag([2.0, 2.0, 3.0, 1.0])), path)
    _fails(
        capsys,
        ["prepare", "-V", str(path), "--center-lps", "0", "0", "0", "--out", str(tmp_path / "o")],
        "venous image",
        "3 voxel(s) are NaN or infinite in the file's raw data",
    )
