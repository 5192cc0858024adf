"""Slice geometry of DICOM series: gantry tilt, uneven gaps, missing slices and repeated positions are
corrected (and recorded) or refused, on synthetic series with known contents and on real scanner files.

Real files (copied with their licences into Testing/data):
- philips-tilted-series/: neurolabusc/dcm_qa_ct (BSD-2), three slices of a head-phantom series acquired
  with gantry tilt -18.5 degrees, with the study's localizer and secondary capture, folder layout kept.
- totalsegmentator/example_ct_dicom/: TotalSegmentator's reference files (Apache-2.0), five slices.
"""

import math
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.pixels import apply_rescale

from RenalMassAILib.case.reading import find_sources, read_volume
from RenalMassAILib.errors import InputError
from synthetic_dicom import plane_points, write_ct_slice, write_series

DATA = Path(__file__).parent / "data"
TILTED = DATA / "philips-tilted-series" / "S21610"


def linear_field(points: np.ndarray) -> np.ndarray:
    """HU that linear interpolation reproduces exactly: any error is geometry, not resampling."""
    return 2.0 * points[..., 0] - 3.0 * points[..., 1] + 4.0 * points[..., 2] - 100.0


def voxel_points(image: sitk.Image) -> np.ndarray:
    """LPS point of every voxel, (k, j, i, 3) like the numpy view."""
    size = image.GetSize()
    k, j, i = np.meshgrid(*[np.arange(n) for n in size[::-1]], indexing="ij")
    index = np.stack([i, j, k], axis=-1).reshape(-1, 3).astype(float)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    points = np.array(image.GetOrigin()) + (index * np.array(image.GetSpacing())) @ direction.T
    return points.reshape(*size[::-1], 3)


def _read(folder):
    sources = find_sources(folder, "test series").sources
    assert len(sources) == 1
    return read_volume(sources[0], "test series")


def test_gantry_tilt_is_corrected_onto_an_orthogonal_grid(tmp_path):
    tilt = math.radians(20.0)
    orientation = (1, 0, 0, 0, math.cos(tilt), -math.sin(tilt))
    positions = [(-20.0, -15.0, 3.0 * k) for k in range(10)]  # table steps along z, planes tilted
    files = write_series(tmp_path / "tilted", linear_field, positions, orientation, GantryDetectorTilt="-20")
    read = _read(tmp_path / "tilted")
    image = read.image
    assert any("gantry tilt 20.0 degrees" in note and "Gantry/Detector Tilt -20" in note for note in read.notes)
    direction = np.array(image.GetDirection()).reshape(3, 3)
    assert np.allclose(direction.T @ direction, np.eye(3), atol=1e-6)
    assert np.allclose(direction[:, 2], [0, math.sin(tilt), math.cos(tilt)], atol=1e-6)
    assert image.GetSpacing()[2] == pytest.approx(3.0 * math.cos(tilt), abs=1e-4)
    voxels = sitk.GetArrayFromImage(image)
    inside = voxels[:, 12:-12, 2:-2]  # away from the in-plane border the shifted slices leave
    expected = linear_field(voxel_points(image))[:, 12:-12, 2:-2]
    assert np.abs(inside - expected).max() <= 0.6  # int16 rounding only
    # What ITK does by itself: a regular grid through the first slice, the others sheared.
    naive = sitk.ImageSeriesReader()
    naive.SetFileNames([str(f) for f in files])
    naive_image = naive.Execute()
    naive_error = (
        sitk.GetArrayFromImage(naive_image)[:, 12:-12, 2:-2] - linear_field(voxel_points(naive_image))[:, 12:-12, 2:-2]
    )
    assert np.abs(naive_error).max() > 20


def test_missing_slice_is_interpolated_and_recorded(tmp_path):
    z = [0.0, 2.0, 4.0, 8.0, 10.0, 12.0]  # the slice at 6 mm is missing
    write_series(tmp_path / "gap", linear_field, [(0.0, 0.0, v) for v in z])
    read = _read(tmp_path / "gap")
    assert read.image.GetSize()[2] == 7 and read.image.GetSpacing()[2] == pytest.approx(2.0)
    assert any("uneven slice gaps (2.00, 4.00 mm" in note for note in read.notes)
    voxels = sitk.GetArrayFromImage(read.image)
    assert np.abs(voxels - linear_field(voxel_points(read.image))).max() <= 0.6
    assert voxels[3].mean() == pytest.approx(
        linear_field(plane_points((0, 0, 6.0), (1, 0, 0, 0, 1, 0), (1, 1), (40, 48))).mean(), abs=0.6
    )


def test_uneven_order_of_files_does_not_matter(tmp_path):
    z = [12.0, 0.0, 8.0, 2.0, 10.0, 4.0, 6.0]  # written in shuffled order, instance numbers follow it
    write_series(tmp_path / "shuffled", linear_field, [(0.0, 0.0, v) for v in z])
    read = _read(tmp_path / "shuffled")
    assert read.notes == ()
    assert read.image.GetOrigin() == pytest.approx((0.0, 0.0, 0.0))
    assert np.abs(sitk.GetArrayFromImage(read.image) - linear_field(voxel_points(read.image))).max() <= 0.5


def test_a_wide_gap_is_refused_with_its_size(tmp_path):
    write_series(tmp_path / "wide", linear_field, [(0.0, 0.0, v) for v in (0.0, 2.0, 4.0, 12.0, 14.0, 16.0)])
    with pytest.raises(InputError, match=r"test series: slice gap\(s\) of 8.00 mm after 4.00 mm .* usual 2.00 mm"):
        _read(tmp_path / "wide")


def test_repeated_positions_identical_are_deduplicated_different_are_refused(tmp_path):
    positions = [(0.0, 0.0, 2.0 * k) for k in range(5)]
    files = write_series(tmp_path / "dup", linear_field, positions)
    copy = pydicom.dcmread(files[2])
    copy.SOPInstanceUID = copy.file_meta.MediaStorageSOPInstanceUID = pydicom.uid.generate_uid()
    copy.InstanceNumber = 99
    copy.save_as(tmp_path / "dup" / "IM_copy")
    read = _read(tmp_path / "dup")
    assert read.image.GetSize()[2] == 5
    assert any("1 file(s) repeat a slice position with identical pixels" in n and "IM_copy" in n for n in read.notes)

    changed = linear_field(plane_points(positions[2], (1, 0, 0, 0, 1, 0), (1, 1), (40, 48))) + 50
    write_ct_slice(tmp_path / "dup" / "IM_other", changed, positions[2], instance=100)
    with pytest.raises(InputError, match=r"lie at the same position \(0.00, 0.00, 4.00\) mm with different pixels"):
        _read(tmp_path / "dup")


def test_real_tilted_philips_series_is_corrected_and_recorded():
    study = find_sources(TILTED, "test study")
    assert [Path(s.path).name for s in study.sources] == ["S2010"]
    read = read_volume(study.sources[0], "test study")
    assert any("gantry tilt 18.5 degrees (Gantry/Detector Tilt -18.5)" in note for note in read.notes)
    image = read.image
    headers = [pydicom.dcmread(TILTED / "S2010" / name) for name in ("I260", "I270", "I280")]
    orientation = np.array(headers[0].ImageOrientationPatient, float)
    normal = np.cross(orientation[:3], orientation[3:])
    assert np.allclose(np.array(image.GetDirection()).reshape(3, 3)[:, 2], normal, atol=1e-6)
    assert image.GetSpacing()[2] == pytest.approx(2.5 * math.cos(math.radians(18.5)), abs=1e-3)
    # Each slice's first pixel lands where its Image Position (Patient) says, after the in-plane shift;
    # the last slice is the one the others are shifted to, so its pixels are kept exactly.
    shifts = []
    for k, ds in enumerate(headers):
        position = np.array(ds.ImagePositionPatient, float)
        index = np.array(image.TransformPhysicalPointToContinuousIndex(position.tolist()))
        assert index[2] == pytest.approx(k, abs=1e-3) and index[0] == pytest.approx(0, abs=1e-3)
        shifts.append(index[1])
    assert np.diff(shifts) == pytest.approx([-0.793 / 0.482421875] * 2, abs=0.01)
    last_hu = apply_rescale(headers[2].pixel_array, headers[2])
    assert np.array_equal(sitk.GetArrayViewFromImage(image)[2, :512, :512], last_hu)
    # ITK alone would place the last slice 1.6 mm off in its plane.
    naive = sitk.ImageSeriesReader()
    naive.SetFileNames([str(TILTED / "S2010" / n) for n in ("I260", "I270", "I280")])
    naive_image = naive.Execute()
    naive_corner = np.array(naive_image.TransformIndexToPhysicalPoint((0, 0, 2)))
    assert np.linalg.norm(naive_corner - np.array(headers[2].ImagePositionPatient, float)) > 1.5


def test_real_totalsegmentator_series_geometry_matches_pydicom():
    folder = DATA / "totalsegmentator" / "example_ct_dicom"
    read = _read(folder)
    datasets = sorted((pydicom.dcmread(p) for p in folder.iterdir()), key=lambda d: float(d.ImagePositionPatient[2]))
    image = read.image
    assert read.notes == ()
    assert image.GetSize() == (512, 512, 5)
    assert image.GetOrigin() == pytest.approx(tuple(float(v) for v in datasets[0].ImagePositionPatient), abs=1e-4)
    assert image.GetSpacing() == pytest.approx((*map(float, datasets[0].PixelSpacing), 2.0), abs=1e-4)
    assert image.GetDirection() == pytest.approx(tuple(np.eye(3).flatten()), abs=1e-6)
    voxels = sitk.GetArrayViewFromImage(image)
    for k, ds in enumerate(datasets):  # pydicom decodes independently of GDCM (JPEG 2000 lossless)
        assert np.array_equal(voxels[k], apply_rescale(ds.pixel_array, ds))


def test_tilt_already_in_the_geometry_is_read_as_is_and_noted(tmp_path):
    """Some scanners write tilted planes with positions along their normal: nothing to correct."""
    tilt = math.radians(15.0)
    orientation = (1, 0, 0, 0, math.cos(tilt), -math.sin(tilt))
    normal = np.cross(orientation[:3], orientation[3:])
    positions = [tuple(np.array([-20.0, -15.0, 0.0]) + 2.5 * k * normal) for k in range(6)]
    write_series(tmp_path / "along", linear_field, positions, orientation, GantryDetectorTilt="15")
    read = _read(tmp_path / "along")
    assert read.notes == (
        "Gantry/Detector Tilt 15 degrees, but the slice positions lie along the slice normal: "
        "read as is (the scanner wrote the tilt into the geometry)",
    )
    assert read.image.GetSize() == (48, 40, 6) and read.image.GetSpacing()[2] == pytest.approx(2.5, abs=1e-4)
    assert np.abs(sitk.GetArrayFromImage(read.image) - linear_field(voxel_points(read.image))).max() <= 0.5


def test_real_tilt_correction_agrees_with_dcm2niix():
    """dcm2niix v1.0.20260724 (`dcm2niix -z y` on the three copied slices) wrote the reference: its
    gantry-tilt corrected volume. Compared in physical space where both have scanned data."""
    reference = sitk.Cast(
        sitk.ReadImage(str(DATA / "philips-tilted-series" / "dcm2niix" / "S2010_I260-I280_Tilt_1.nii.gz")),
        sitk.sitkFloat32,
    )
    expected = sitk.GetArrayFromImage(reference)

    def difference(image):
        on_reference = sitk.GetArrayFromImage(
            sitk.Resample(sitk.Cast(image, sitk.sitkFloat32), reference, sitk.Transform(), sitk.sitkLinear, np.nan)
        )
        scanned = np.isfinite(on_reference) & (on_reference > -1020) & (expected > -1020)
        return np.abs(on_reference - expected)[scanned]

    ours = difference(_read(TILTED / "S2010").image)
    naive = sitk.ImageSeriesReader()
    naive.SetFileNames([str(TILTED / "S2010" / n) for n in ("I260", "I270", "I280")])
    sheared = difference(naive.Execute())
    assert ours.size > 700_000
    assert ours.mean() < 1.0 and np.median(ours) < 0.5
    assert sheared.mean() > 10 * ours.mean()


def test_slices_that_cannot_form_one_grid_are_refused(tmp_path):
    flat = np.full((40, 48), -500.0)
    write_series(tmp_path / "turned", linear_field, [(0.0, 0.0, 2.0 * k) for k in range(3)])
    write_ct_slice(tmp_path / "turned" / "IM_sagittal", flat, (0, 0, 6.0), (0, 1, 0, 0, 0, -1), instance=4)
    with pytest.raises(InputError, match="slices with different orientations"):
        _read(tmp_path / "turned")

    write_series(tmp_path / "sizes", linear_field, [(0.0, 0.0, 2.0 * k) for k in range(3)])
    write_ct_slice(tmp_path / "sizes" / "IM_fine", flat, (0, 0, 6.0), pixel_mm=(0.5, 0.5), instance=4)
    with pytest.raises(InputError, match="slices of different sizes or pixel spacings"):
        _read(tmp_path / "sizes")

    files = write_series(tmp_path / "unplaced", linear_field, [(0.0, 0.0, 2.0 * k) for k in range(3)])
    ds = pydicom.dcmread(files[1])
    del ds.ImagePositionPatient
    ds.save_as(files[1])
    with pytest.raises(InputError, match=r"IM0001' has no usable Image Position \(Patient\)"):
        _read(tmp_path / "unplaced")

    write_series(tmp_path / "shifted", linear_field, [(0.0, 0.0, 0.0), (0.0, 0.0, 2.0), (30.0, 0.0, 2.0)])
    with pytest.raises(InputError, match="two slices at the same depth 2.00 mm along the normal"):
        _read(tmp_path / "shifted")
