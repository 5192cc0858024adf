"""Every bad input gives one clear line on stderr, exit status 2, and leaves the files as they were."""

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from conftest import phantom
from RenalMassAILib.case.phase import Phase
from RenalMassAILib.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("case")
    p = phantom(seed=9, size=(64, 64, 24), spacing=(4.0, 4.0, 5.0), side="left")
    paths = {name: str(path) for name, path in p.write(folder).items()}
    venous = p.images[Phase.VENOUS]

    def variant(name, array=None, **geometry):
        image = sitk.GetImageFromArray(sitk.GetArrayFromImage(venous) if array is None else array)
        image.CopyInformation(venous)
        for key, value in geometry.items():
            getattr(image, f"Set{key}")(value)
        path = folder / name
        sitk.WriteImage(image, str(path))
        return str(path)

    array = sitk.GetArrayFromImage(venous).astype(np.float32)
    with_nan = array.copy()
    with_nan[5, 5, 5] = np.nan
    paths["nan"] = variant("nan.nrrd", with_nan)  # ITK's NIfTI reader turns NaN into 0 itself
    paths["mri"] = variant("t2.nii.gz", (array - array.min()).astype(np.float32))
    paths["spacing"] = variant("spacing.nii.gz", Spacing=(4.0, 4.0, 50.0))
    paths["elsewhere"] = variant("elsewhere.nii.gz", Origin=(5000.0, 0.0, 0.0))
    no_tumor = sitk.GetArrayFromImage(p.labels)
    no_tumor[no_tumor == 2] = 1
    paths["no_tumor_seg"] = variant("no_tumor_seg.nii.gz", no_tumor)
    seg_elsewhere = sitk.Image(p.labels)
    seg_elsewhere.SetOrigin((0.0, 0.0, 9000.0))
    sitk.WriteImage(seg_elsewhere, str(folder / "seg_elsewhere.nii.gz"))
    paths["seg_elsewhere"] = str(folder / "seg_elsewhere.nii.gz")
    flat = sitk.GetImageFromArray(array[10])
    sitk.WriteImage(flat, str(folder / "slice.nii.gz"))
    paths["2d"] = str(folder / "slice.nii.gz")
    (folder / "broken.nii.gz").write_bytes(b"this is not an image")
    paths["broken"] = str(folder / "broken.nii.gz")
    paths["empty_dir"] = str(tmp_path_factory.mktemp("empty"))
    return paths


def _fails(capsys, argv, *fragments):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err, err
    return err


def _out(tmp_path):
    return ["--out", str(tmp_path / "out")]


def test_missing_file(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "--arterial", "/no/such/arterial.nii.gz", "--center-lps", "0", "0", "0", *_out(tmp_path)],
        "arterial image",
        "/no/such/arterial.nii.gz",
        "no such file",
    )


def test_unreadable_file(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["broken"], "--center-lps", "0", "0", "0", *_out(tmp_path)],
        files["broken"],
        "cannot be read as an image",
    )


def test_folder_without_dicom(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-V", files["empty_dir"], "--center-lps", "0", "0", "0", *_out(tmp_path)],
        "venous image",
        "no DICOM series",
    )


def test_not_3d(capsys, files, tmp_path):
    _fails(
        capsys, ["prepare", "-A", files["2d"], "--center-lps", "0", "0", "0", *_out(tmp_path)], "expected a 3D volume"
    )


def test_not_ct(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["mri"], "--center-lps", "0", "0", "0", *_out(tmp_path)],
        files["mri"],
        "does not look like CT",
    )


def test_nan_voxels(capsys, files, tmp_path):
    _fails(
        capsys, ["prepare", "-A", files["nan"], "--center-lps", "0", "0", "0", *_out(tmp_path)], "1 voxel(s) are NaN"
    )


def test_absurd_spacing(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["spacing"], "--center-lps", "0", "0", "0", *_out(tmp_path)],
        "voxel spacing",
        "50.0",
    )


def test_phase_that_does_not_overlap(capsys, files, tmp_path):
    _fails(
        capsys,
        [
            "prepare",
            "-A",
            files["arterial"],
            "-V",
            files["elsewhere"],
            "--segmentation",
            files["segmentation"],
            *_out(tmp_path),
        ],
        "venous image",
        "does not overlap",
        "arterial image",
    )


def test_segmentation_that_does_not_overlap(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["arterial"], "--segmentation", files["seg_elsewhere"], *_out(tmp_path)],
        "segmentation",
        "does not overlap",
    )


def test_no_tumour_and_no_centre(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["arterial"], "--segmentation", files["no_tumor_seg"], *_out(tmp_path)],
        "no tumour voxels",
        "--center-lps",
    )


def test_neither_segmentation_nor_centre(capsys, files, tmp_path):
    _fails(capsys, ["prepare", "-A", files["arterial"], *_out(tmp_path)], "--segmentation", "--center-lps")


def test_centre_outside_the_image(capsys, files, tmp_path):
    _fails(
        capsys,
        ["prepare", "-A", files["arterial"], "--center-lps", "0", "0", "900", *_out(tmp_path)],
        "tumour centre",
        "lies outside",
    )


def test_no_image_and_mixed_modes(capsys, files, tmp_path):
    _fails(capsys, ["prepare", "--center-lps", "0", "0", "0", *_out(tmp_path)], "no image given")
    _fails(
        capsys,
        ["prepare", "-A", files["arterial"], "--auto", files["venous"], "--center-lps", "0", "0", "0", *_out(tmp_path)],
        "not both",
    )


def test_input_files_stay_intact(capsys, files, tmp_path):
    digest = {
        name: hashlib.sha256(Path(path).read_bytes()).hexdigest()
        for name, path in files.items()
        if name not in ("empty_dir",)
    }
    main(
        [
            "prepare",
            "-A",
            files["arterial"],
            "-V",
            files["elsewhere"],
            "--segmentation",
            files["segmentation"],
            *_out(tmp_path),
        ]
    )
    main(["prepare", "-A", files["arterial"], "--segmentation", files["no_tumor_seg"], *_out(tmp_path)])
    capsys.readouterr()
    assert digest == {name: hashlib.sha256(Path(files[name]).read_bytes()).hexdigest() for name in digest}


def test_as_a_new_user_on_the_command_line(files, tmp_path):
    """The installed command: one line on stderr, exit 2, no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "RenalMassAILib",
            "prepare",
            "-A",
            files["mri"],
            "--center-lps",
            "0",
            "0",
            "0",
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("renalmassai: error: arterial image") and "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()
